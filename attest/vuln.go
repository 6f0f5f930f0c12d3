package attest

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// VulnPredicate converts a Trivy or Grype JSON report into cosign's
// vulnerability-scan predicate (https://cosign.sigstore.dev/attestation/vuln/v1):
// scanner name and version, vulnerability database, scan time, and as result
// a summary with counts by severity (and of fixable ones) plus the findings,
// so a policy can say "predicate.scanner.result.summary.fixable.critical == 0".
// A report already in that predicate's shape is kept as it is.
func VulnPredicate(data []byte, now time.Time) (json.RawMessage, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, invalid("vuln", "not a JSON report: %v", err)
	}
	var p vulnPredicate
	switch {
	case probe["scanner"] != nil:
		return compactJSON("vuln", data)
	case probe["SchemaVersion"] != nil && probe["Results"] != nil || probe["ArtifactName"] != nil:
		if err := fromTrivy(data, &p); err != nil {
			return nil, err
		}
	case probe["matches"] != nil && probe["descriptor"] != nil:
		if err := fromGrype(data, &p); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("vuln", "neither a Trivy nor a Grype JSON report (nor a cosign vuln predicate)")
	}
	if p.Metadata.ScanFinishedOn.IsZero() {
		p.Metadata.ScanFinishedOn = now.UTC()
	}
	if p.Metadata.ScanStartedOn.IsZero() {
		p.Metadata.ScanStartedOn = p.Metadata.ScanFinishedOn
	}
	p.Scanner.Result.summarize()
	return json.Marshal(p)
}

type vulnPredicate struct {
	Invocation struct {
		Parameters any    `json:"parameters"`
		URI        string `json:"uri"`
		EventID    string `json:"event_id"`
		BuilderID  string `json:"builder.id"`
	} `json:"invocation"`
	Scanner struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
		DB      struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
		} `json:"db"`
		Result vulnResult `json:"result"`
	} `json:"scanner"`
	Metadata struct {
		ScanStartedOn  time.Time `json:"scanStartedOn"`
		ScanFinishedOn time.Time `json:"scanFinishedOn"`
	} `json:"metadata"`
}

type vulnResult struct {
	Target          string    `json:"target,omitempty"`
	Summary         counts    `json:"summary"`
	Vulnerabilities []finding `json:"vulnerabilities"`
}

type counts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
	Total    int `json:"total"`
	Fixable  struct {
		Critical int `json:"critical"`
		High     int `json:"high"`
		Medium   int `json:"medium"`
		Low      int `json:"low"`
		Unknown  int `json:"unknown"`
		Total    int `json:"total"`
	} `json:"fixable"`
}

type finding struct {
	ID               string `json:"id"`
	Severity         string `json:"severity"`
	Package          string `json:"package"`
	InstalledVersion string `json:"installedVersion,omitempty"`
	FixedVersion     string `json:"fixedVersion,omitempty"`
}

func (r *vulnResult) summarize() {
	r.Summary = counts{}
	if r.Vulnerabilities == nil {
		r.Vulnerabilities = []finding{}
	}
	sort.SliceStable(r.Vulnerabilities, func(i, j int) bool { return r.Vulnerabilities[i].ID < r.Vulnerabilities[j].ID })
	for _, f := range r.Vulnerabilities {
		fix := f.FixedVersion != ""
		r.Summary.Total++
		if fix {
			r.Summary.Fixable.Total++
		}
		var all, fixable *int
		switch strings.ToLower(f.Severity) {
		case "critical":
			all, fixable = &r.Summary.Critical, &r.Summary.Fixable.Critical
		case "high":
			all, fixable = &r.Summary.High, &r.Summary.Fixable.High
		case "medium":
			all, fixable = &r.Summary.Medium, &r.Summary.Fixable.Medium
		case "low", "negligible":
			all, fixable = &r.Summary.Low, &r.Summary.Fixable.Low
		default:
			all, fixable = &r.Summary.Unknown, &r.Summary.Fixable.Unknown
		}
		*all++
		if fix {
			*fixable++
		}
	}
}

func fromTrivy(data []byte, p *vulnPredicate) error {
	var rep struct {
		CreatedAt    time.Time `json:"CreatedAt"`
		ArtifactName string    `json:"ArtifactName"`
		Trivy        struct {
			Version string `json:"Version"`
		} `json:"Trivy"`
		Results []struct {
			Target          string `json:"Target"`
			Vulnerabilities []struct {
				VulnerabilityID  string `json:"VulnerabilityID"`
				PkgName          string `json:"PkgName"`
				InstalledVersion string `json:"InstalledVersion"`
				FixedVersion     string `json:"FixedVersion"`
				Severity         string `json:"Severity"`
			} `json:"Vulnerabilities"`
		} `json:"Results"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return invalid("vuln", "reading Trivy report: %v", err)
	}
	p.Scanner.URI = "pkg:github/aquasecurity/trivy"
	if rep.Trivy.Version != "" {
		p.Scanner.URI += "@" + rep.Trivy.Version
	}
	p.Scanner.Version = rep.Trivy.Version
	p.Scanner.DB.URI = "pkg:github/aquasecurity/trivy-db"
	p.Scanner.Result.Target = rep.ArtifactName
	p.Metadata.ScanStartedOn, p.Metadata.ScanFinishedOn = rep.CreatedAt, rep.CreatedAt
	for _, r := range rep.Results {
		for _, v := range r.Vulnerabilities {
			p.Scanner.Result.Vulnerabilities = append(p.Scanner.Result.Vulnerabilities, finding{
				ID: v.VulnerabilityID, Severity: strings.ToUpper(v.Severity), Package: v.PkgName,
				InstalledVersion: v.InstalledVersion, FixedVersion: v.FixedVersion,
			})
		}
	}
	return nil
}

func fromGrype(data []byte, p *vulnPredicate) error {
	var rep struct {
		Matches []struct {
			Vulnerability struct {
				ID       string `json:"id"`
				Severity string `json:"severity"`
				Fix      struct {
					Versions []string `json:"versions"`
					State    string   `json:"state"`
				} `json:"fix"`
			} `json:"vulnerability"`
			Artifact struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"artifact"`
		} `json:"matches"`
		Source struct {
			Target json.RawMessage `json:"target"`
		} `json:"source"`
		Descriptor struct {
			Name      string    `json:"name"`
			Version   string    `json:"version"`
			Timestamp time.Time `json:"timestamp"`
			DB        struct {
				Built  string `json:"built"`
				Status struct {
					Built         string `json:"built"`
					SchemaVersion string `json:"schemaVersion"`
				} `json:"status"`
				SchemaVersion json.RawMessage `json:"schemaVersion"`
			} `json:"db"`
		} `json:"descriptor"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return invalid("vuln", "reading Grype report: %v", err)
	}
	p.Scanner.URI = "pkg:github/anchore/grype"
	if rep.Descriptor.Version != "" {
		p.Scanner.URI += "@" + rep.Descriptor.Version
	}
	p.Scanner.Version = rep.Descriptor.Version
	p.Scanner.DB.URI = "pkg:github/anchore/grype-db"
	p.Scanner.DB.Version = firstNonEmpty(rep.Descriptor.DB.Status.Built, rep.Descriptor.DB.Built)
	p.Metadata.ScanStartedOn, p.Metadata.ScanFinishedOn = rep.Descriptor.Timestamp, rep.Descriptor.Timestamp
	for _, m := range rep.Matches {
		f := finding{ID: m.Vulnerability.ID, Severity: strings.ToUpper(m.Vulnerability.Severity), Package: m.Artifact.Name, InstalledVersion: m.Artifact.Version}
		if m.Vulnerability.Fix.State == "fixed" && len(m.Vulnerability.Fix.Versions) > 0 {
			f.FixedVersion = strings.Join(m.Vulnerability.Fix.Versions, ", ")
		}
		p.Scanner.Result.Vulnerabilities = append(p.Scanner.Result.Vulnerabilities, f)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
