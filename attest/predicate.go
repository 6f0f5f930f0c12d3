package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	provenancev1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/tagvalue"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrInvalidPredicate means a predicate file is malformed, or is not of the
// kind --type says. Nothing was signed.
var ErrInvalidPredicate = errors.New("invalid predicate")

func invalid(kind, format string, a ...any) error {
	return fmt.Errorf("%w for --type %s: %s", ErrInvalidPredicate, kind, fmt.Sprintf(format, a...))
}

// BuildPredicate checks a predicate file against its kind (see ResolveType)
// and returns the predicate JSON to put in the statement. Documents are kept
// as given (an SBOM is attached verbatim, after it was parsed); scan reports
// are converted into cosign's vulnerability predicate. A predicate dated
// more than a few minutes past now is refused (ErrFutureTime).
func BuildPredicate(kind string, data []byte, now time.Time) (json.RawMessage, error) {
	p, err := buildPredicate(kind, data, now)
	if err != nil {
		return nil, err
	}
	if err := checkNotFuture(p, now); err != nil {
		return nil, fmt.Errorf("%w for --type %s: %w", ErrInvalidPredicate, kind, err)
	}
	return p, nil
}

func buildPredicate(kind string, data []byte, now time.Time) (json.RawMessage, error) {
	if blank(data) {
		return nil, fmt.Errorf("%w for --type %s: %w", ErrInvalidPredicate, kind, emptyError(data, "predicate"))
	}
	if hint := sniffWrongKind(kind, data); hint != "" {
		return nil, invalid(kind, "%s", hint)
	}
	switch kind {
	case "spdx", "spdxjson":
		return spdxPredicate(kind, data)
	case "cyclonedx":
		if err := CheckCycloneDX(bytes.NewReader(data)); err != nil {
			return nil, err
		}
		return compactJSON(kind, data)
	case "vuln":
		return VulnPredicate(data, now)
	case "slsaprovenance1":
		var p provenancev1.Provenance
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &p); err != nil {
			return nil, invalid(kind, "not SLSA provenance v1: %v", err)
		}
		if p.GetBuildDefinition().GetBuildType() == "" || p.GetRunDetails().GetBuilder().GetId() == "" {
			return nil, invalid(kind, "SLSA provenance v1 needs buildDefinition.buildType and runDetails.builder.id")
		}
		return compactJSON(kind, data)
	case "slsaprovenance", "slsaprovenance02":
		var p struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			BuildType string `json:"buildType"`
		}
		if err := json.Unmarshal(data, &p); err != nil || p.Builder.ID == "" || p.BuildType == "" {
			return nil, invalid(kind, "SLSA provenance v0.2 needs builder.id and buildType")
		}
		return compactJSON(kind, data)
	case "openvex":
		var p struct {
			Context string `json:"@context"`
		}
		if err := json.Unmarshal(data, &p); err != nil || len(p.Context) < len(PredicateOpenVEX) || p.Context[:len(PredicateOpenVEX)] != PredicateOpenVEX {
			return nil, invalid(kind, "an OpenVEX document has \"@context\": %q", PredicateOpenVEX+"/v0.2.0")
		}
		return compactJSON(kind, data)
	case "custom":
		// cosign's custom predicate: the file as a string, with a timestamp.
		return json.Marshal(map[string]string{"Data": string(data), "Timestamp": now.UTC().Format(time.RFC3339)})
	default:
		return compactJSON(kind, data)
	}
}

// spdxPredicate parses SPDX 2.3 JSON (or, for --type spdx, tag-value) with
// tools-golang and returns it as JSON.
func spdxPredicate(kind string, data []byte) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		doc, err := spdxjson.Read(bytes.NewReader(data))
		if err != nil {
			return nil, invalid(kind, "not an SPDX JSON document: %v", err)
		}
		if doc.SPDXVersion == "" {
			return nil, invalid(kind, "SPDX document has no spdxVersion")
		}
		if err := checkSPDXFields(kind, data); err != nil {
			return nil, err
		}
		return compactJSON(kind, data)
	}
	if kind == "spdxjson" {
		return nil, invalid(kind, "not JSON (use --type spdx for tag-value SPDX)")
	}
	doc, err := tagvalue.Read(bytes.NewReader(data))
	if err != nil {
		return nil, invalid(kind, "not an SPDX document (JSON or tag-value): %v", err)
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf); err != nil {
		return nil, invalid(kind, "converting tag-value SPDX to JSON: %v", err)
	}
	if err := checkSPDXFields(kind, buf.Bytes()); err != nil {
		return nil, err
	}
	return compactJSON(kind, buf.Bytes())
}

func compactJSON(kind string, data []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, invalid(kind, "not JSON: %v", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, invalid(kind, "the predicate must be a JSON object")
	}
	return buf.Bytes(), nil
}

// sniffWrongKind recognises a document given under the wrong --type, to say
// which type it is instead of a parser's complaint.
func sniffWrongKind(kind string, data []byte) string {
	var probe struct {
		BOMFormat     string          `json:"bomFormat"`
		SPDXVersion   string          `json:"spdxVersion"`
		SchemaVersion json.RawMessage `json:"SchemaVersion"`
		ArtifactName  string          `json:"ArtifactName"`
		Matches       json.RawMessage `json:"matches"`
		Descriptor    json.RawMessage `json:"descriptor"`
	}
	head := data
	if len(head) > 1<<20 {
		return "" // large inputs are checked by their own parser
	}
	if json.Unmarshal(head, &probe) != nil {
		return ""
	}
	var found string
	switch {
	case probe.BOMFormat == "CycloneDX":
		found = "cyclonedx"
	case probe.SPDXVersion != "":
		found = "spdxjson"
	case probe.SchemaVersion != nil && probe.ArtifactName != "":
		found = "a Trivy report (use --type vuln)"
	case probe.Matches != nil && probe.Descriptor != nil:
		found = "a Grype report (use --type vuln)"
	default:
		return ""
	}
	switch {
	case kind == "cyclonedx" && found == "cyclonedx", (kind == "spdx" || kind == "spdxjson") && found == "spdxjson",
		kind == "vuln" && found != "cyclonedx" && found != "spdxjson", kind == "uri" || kind == "custom":
		return ""
	}
	if found == "cyclonedx" || found == "spdxjson" {
		return fmt.Sprintf("this is a %s document (use --type %s)", found, found)
	}
	return "this is " + found
}

// readAll reads a predicate, refusing one over max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("predicate is over %d bytes: only CycloneDX and URI-typed JSON predicates are streamed; this kind is read into memory", max)
	}
	return b, nil
}
