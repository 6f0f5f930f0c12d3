package inspect

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Predicate types inspect summarises.
const (
	predicateCycloneDX = "https://cyclonedx.org/bom"
	predicateSPDX      = "https://spdx.dev/Document"
	predicateVuln      = "https://cosign.sigstore.dev/attestation/vuln/v1"
	predicateSLSA02    = "https://slsa.dev/provenance/v0.2"
	predicateSLSA1     = "https://slsa.dev/provenance/v1"
	predicateOpenVEX   = "https://openvex.dev/ns"
	predicateCosignSig = "https://sigstore.dev/cosign/sign/v1"
)

// maxTable caps the rows kept for the HTML tables.
const maxTable = 10_000

// summarize fills a's predicate summary from the statement's predicate.
// A predicate that does not parse as its type claims is reported in the
// summary line, not as an error: the artifact is still there.
func summarize(a *Artifact, predicateType string, predicate json.RawMessage, now time.Time) {
	var err error
	switch {
	case predicateType == predicateCycloneDX:
		a.SBOM, err = cycloneDX(predicate)
	case strings.HasPrefix(predicateType, predicateSPDX):
		a.SBOM, err = spdx(predicate)
	case predicateType == predicateVuln:
		a.Vulnerabilities, err = vulnScan(predicate, now)
	case predicateType == predicateSLSA1:
		a.Provenance, err = slsa1(predicate)
	case predicateType == predicateSLSA02:
		a.Provenance, err = slsa02(predicate)
	case strings.HasPrefix(predicateType, predicateOpenVEX):
		a.Summary = "OpenVEX document"
		var v struct {
			Statements []json.RawMessage `json:"statements"`
		}
		if json.Unmarshal(predicate, &v) == nil {
			a.Summary = "OpenVEX, " + count(len(v.Statements), "statement", "statements")
		}
		return
	default:
		a.Summary = fmt.Sprintf("predicate %s, %s", predicateType, count(len(predicate), "byte", "bytes"))
		return
	}
	switch {
	case err != nil:
		a.Summary = "predicate does not parse as " + predicateType + ": " + err.Error()
	case a.SBOM != nil:
		a.Summary = a.SBOM.line()
	case a.Vulnerabilities != nil:
		a.Summary = a.Vulnerabilities.line()
	case a.Provenance != nil:
		a.Summary = a.Provenance.line()
	}
}

func (s *SBOM) line() string {
	out := fmt.Sprintf("SBOM %s %s, %s", s.Format, s.SpecVersion, count(s.Components, "component", "components"))
	if len(s.TopLicenses) > 0 {
		var ls []string
		for _, l := range s.TopLicenses {
			ls = append(ls, fmt.Sprintf("%s (%d)", l.Name, l.Count))
		}
		out += ", licences " + strings.Join(ls, ", ")
	}
	return out
}

func (v *VulnScan) line() string {
	out := fmt.Sprintf("vulnerabilities: %d critical, %d high, %d medium, %d low", v.Critical, v.High, v.Medium, v.Low)
	if v.Unknown > 0 {
		out += fmt.Sprintf(", %d unknown", v.Unknown)
	}
	out += fmt.Sprintf("; %d fixable", v.Fixable)
	if v.Scanner != "" {
		out += "; scanner " + v.Scanner
	}
	if v.Age != "" {
		out += "; scanned " + v.Age + " ago"
	}
	if v.DatabaseAge != "" {
		out += " with a database " + v.DatabaseAge + " old"
	}
	return out
}

func (p *Provenance) line() string {
	parts := []string{"SLSA provenance " + p.SLSAVersion}
	if p.BuilderID != "" {
		parts = append(parts, "builder "+p.BuilderID)
	}
	if p.Source != "" {
		src := p.Source
		if p.Commit != "" {
			src += "@" + short(p.Commit, 12)
		}
		parts = append(parts, "source "+src)
	}
	if p.BuildType != "" {
		parts = append(parts, "build type "+p.BuildType)
	}
	if p.Invocation != "" {
		parts = append(parts, "invocation "+p.Invocation)
	}
	return strings.Join(parts, "; ")
}

type cdxComponent struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Type       string         `json:"type"`
	PURL       string         `json:"purl"`
	Licenses   []cdxLicense   `json:"licenses"`
	Components []cdxComponent `json:"components"`
}

type cdxLicense struct {
	License struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"license"`
	Expression string `json:"expression"`
}

func cycloneDX(raw json.RawMessage) (*SBOM, error) {
	var doc struct {
		BOMFormat   string         `json:"bomFormat"`
		SpecVersion string         `json:"specVersion"`
		Components  []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("bomFormat %q is not CycloneDX", doc.BOMFormat)
	}
	s := &SBOM{Format: "CycloneDX", SpecVersion: doc.SpecVersion}
	licences := map[string]int{}
	var walk func([]cdxComponent)
	walk = func(cs []cdxComponent) {
		for _, c := range cs {
			s.Components++
			var ls []string
			for _, l := range c.Licenses {
				name := firstOf(l.License.ID, l.License.Name, l.Expression)
				if name != "" {
					ls = append(ls, name)
					licences[name]++
				}
			}
			s.add(Package{Name: c.Name, Version: c.Version, Type: c.Type, License: strings.Join(ls, ", "), PURL: c.PURL})
			walk(c.Components)
		}
	}
	walk(doc.Components)
	s.TopLicenses = top(licences, 3)
	return s, nil
}

func spdx(raw json.RawMessage) (*SBOM, error) {
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name             string `json:"name"`
			VersionInfo      string `json:"versionInfo"`
			LicenseConcluded string `json:"licenseConcluded"`
			LicenseDeclared  string `json:"licenseDeclared"`
			Purpose          string `json:"primaryPackagePurpose"`
			ExternalRefs     []struct {
				Type     string `json:"referenceType"`
				Locator  string `json:"referenceLocator"`
				Category string `json:"referenceCategory"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.SPDXVersion == "" {
		return nil, fmt.Errorf("no spdxVersion")
	}
	format, version, _ := strings.Cut(doc.SPDXVersion, "-")
	s := &SBOM{Format: format, SpecVersion: version}
	licences := map[string]int{}
	for _, p := range doc.Packages {
		s.Components++
		lic := p.LicenseConcluded
		if lic == "" || lic == "NOASSERTION" || lic == "NONE" {
			lic = p.LicenseDeclared
		}
		if lic == "NOASSERTION" || lic == "NONE" {
			lic = ""
		}
		if lic != "" {
			licences[lic]++
		}
		purl := ""
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" {
				purl = r.Locator
			}
		}
		s.add(Package{Name: p.Name, Version: p.VersionInfo, Type: strings.ToLower(p.Purpose), License: lic, PURL: purl})
	}
	s.TopLicenses = top(licences, 3)
	return s, nil
}

func (s *SBOM) add(p Package) {
	if len(s.Table) >= maxTable {
		s.Truncated = true
		return
	}
	s.Table = append(s.Table, p)
}

// vulnScan reads the cosign vuln predicate: Signet's (a summary and a list
// of findings in scanner.result) or cosign's own (a raw Trivy report there).
func vulnScan(raw json.RawMessage, now time.Time) (*VulnScan, error) {
	var p struct {
		Scanner struct {
			URI     string `json:"uri"`
			Version string `json:"version"`
			DB      struct {
				URI     string `json:"uri"`
				Version string `json:"version"`
			} `json:"db"`
			Result json.RawMessage `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			ScanFinishedOn *time.Time `json:"scanFinishedOn"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	v := &VulnScan{Scanner: scannerName(p.Scanner.URI, p.Scanner.Version), Database: strings.TrimSpace(p.Scanner.DB.URI + " " + p.Scanner.DB.Version)}
	if t := p.Metadata.ScanFinishedOn; t != nil && !t.IsZero() {
		v.ScanTime = t
		v.Age = age(now.Sub(*t))
	}
	// Some producers record the database's build time as its version.
	if t, err := time.Parse(time.RFC3339, p.Scanner.DB.Version); err == nil {
		v.DatabaseAge = age(now.Sub(t))
	}
	var r struct {
		Vulnerabilities []struct {
			ID               string `json:"id"`
			Severity         string `json:"severity"`
			Package          string `json:"package"`
			InstalledVersion string `json:"installedVersion"`
			FixedVersion     string `json:"fixedVersion"`
		} `json:"vulnerabilities"`
		Results []struct {
			Vulnerabilities []struct {
				VulnerabilityID  string `json:"VulnerabilityID"`
				PkgName          string `json:"PkgName"`
				InstalledVersion string `json:"InstalledVersion"`
				FixedVersion     string `json:"FixedVersion"`
				Severity         string `json:"Severity"`
			} `json:"Vulnerabilities"`
		} `json:"Results"`
	}
	if len(p.Scanner.Result) > 0 {
		if err := json.Unmarshal(p.Scanner.Result, &r); err != nil {
			return nil, fmt.Errorf("scanner.result: %w", err)
		}
	}
	for _, f := range r.Vulnerabilities {
		v.add(Finding{ID: f.ID, Severity: f.Severity, Package: f.Package, Version: f.InstalledVersion, Fixed: f.FixedVersion})
	}
	for _, res := range r.Results {
		for _, f := range res.Vulnerabilities {
			v.add(Finding{ID: f.VulnerabilityID, Severity: f.Severity, Package: f.PkgName, Version: f.InstalledVersion, Fixed: f.FixedVersion})
		}
	}
	sort.SliceStable(v.Findings, func(i, j int) bool {
		if a, b := severityRank(v.Findings[i].Severity), severityRank(v.Findings[j].Severity); a != b {
			return a < b
		}
		return v.Findings[i].ID < v.Findings[j].ID
	})
	return v, nil
}

func (v *VulnScan) add(f Finding) {
	f.Severity = strings.ToUpper(f.Severity)
	switch f.Severity {
	case "CRITICAL":
		v.Critical++
	case "HIGH":
		v.High++
	case "MEDIUM":
		v.Medium++
	case "LOW", "NEGLIGIBLE":
		v.Low++
	default:
		v.Unknown++
	}
	if f.Fixed != "" {
		v.Fixable++
	}
	if len(v.Findings) < maxTable {
		v.Findings = append(v.Findings, f)
	}
}

func severityRank(s string) int {
	switch s {
	case "CRITICAL":
		return 0
	case "HIGH":
		return 1
	case "MEDIUM":
		return 2
	case "LOW", "NEGLIGIBLE":
		return 3
	}
	return 4
}

// scannerName turns pkg:github/aquasecurity/trivy@0.58.1 into trivy 0.58.1.
func scannerName(uri, version string) string {
	name := uri
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name, v, _ := strings.Cut(name, "@")
	if version == "" {
		version = v
	}
	return strings.TrimSpace(name + " " + version)
}

func slsa1(raw json.RawMessage) (*Provenance, error) {
	var p struct {
		BuildDefinition struct {
			BuildType          string         `json:"buildType"`
			ExternalParameters map[string]any `json:"externalParameters"`
			Resolved           []struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				InvocationID string `json:"invocationId"`
			} `json:"metadata"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	out := &Provenance{SLSAVersion: "v1", BuilderID: p.RunDetails.Builder.ID, BuildType: p.BuildDefinition.BuildType,
		Invocation: p.RunDetails.Metadata.InvocationID}
	if wf, ok := p.BuildDefinition.ExternalParameters["workflow"].(map[string]any); ok {
		out.Source, _ = wf["repository"].(string)
	}
	for _, d := range p.BuildDefinition.Resolved {
		if c := firstOf(d.Digest["gitCommit"], d.Digest["sha1"]); c != "" {
			out.Commit = c
			if out.Source == "" {
				out.Source = strings.TrimPrefix(strings.SplitN(d.URI, "@", 2)[0], "git+")
			}
			break
		}
	}
	return out, nil
}

func slsa02(raw json.RawMessage) (*Provenance, error) {
	var p struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType  string `json:"buildType"`
		Invocation struct {
			ConfigSource struct {
				URI        string            `json:"uri"`
				Digest     map[string]string `json:"digest"`
				EntryPoint string            `json:"entryPoint"`
			} `json:"configSource"`
		} `json:"invocation"`
		Metadata struct {
			BuildInvocationID string `json:"buildInvocationId"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	cs := p.Invocation.ConfigSource
	inv := p.Metadata.BuildInvocationID
	if inv == "" {
		inv = cs.EntryPoint
	}
	return &Provenance{SLSAVersion: "v0.2", BuilderID: p.Builder.ID, BuildType: p.BuildType,
		Source: strings.TrimPrefix(strings.SplitN(cs.URI, "@", 2)[0], "git+"), Commit: firstOf(cs.Digest["sha1"], cs.Digest["gitCommit"]), Invocation: inv}, nil
}

func top(m map[string]int, n int) []Count {
	var out []Count
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out[:min(n, len(out))]
}

// age renders a duration coarsely: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// count writes n with the noun in the number n needs: "1 component", "2 components".
func count(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
