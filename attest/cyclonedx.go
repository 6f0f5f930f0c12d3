package attest

import (
	"encoding/json"
	"fmt"
	"io"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// CheckCycloneDX validates a CycloneDX 1.5 or 1.6 JSON BOM while streaming
// it: the top level is read token by token and each component and
// dependency is decoded, one at a time, into cyclonedx-go's types, so a
// 100 MB SBOM is checked without holding it in memory.
func CheckCycloneDX(r io.Reader) error {
	const kind = "cyclonedx"
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return invalid(kind, "not a JSON object")
	}
	var format string
	var version cdx.SpecVersion
	components := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return invalid(kind, "reading BOM: %v", err)
		}
		key, _ := t.(string)
		switch key {
		case "bomFormat":
			if err := dec.Decode(&format); err != nil {
				return invalid(kind, "bomFormat: %v", err)
			}
		case "specVersion":
			if err := dec.Decode(&version); err != nil {
				return invalid(kind, "specVersion: %v", err)
			}
		case "metadata":
			var m cdx.Metadata
			if err := dec.Decode(&m); err != nil {
				return invalid(kind, "metadata: %v", err)
			}
		case "components":
			n, err := eachElement(dec, func() error { var c cdx.Component; return dec.Decode(&c) })
			if err != nil {
				return invalid(kind, "component %d: %v", n, err)
			}
			components = n
		case "dependencies":
			if n, err := eachElement(dec, func() error { var d cdx.Dependency; return dec.Decode(&d) }); err != nil {
				return invalid(kind, "dependency %d: %v", n, err)
			}
		default:
			if err := skipValue(dec); err != nil {
				return invalid(kind, "%s: %v", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid(kind, "reading BOM: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid(kind, "trailing data after the BOM")
	}
	if format != "CycloneDX" {
		return invalid(kind, "bomFormat is %q, want \"CycloneDX\"", format)
	}
	if version != cdx.SpecVersion1_5 && version != cdx.SpecVersion1_6 {
		return invalid(kind, "specVersion %s; Signet accepts CycloneDX 1.5 and 1.6", version)
	}
	_ = components
	return nil
}

// eachElement walks a JSON array, calling decode for each element.
func eachElement(dec *json.Decoder, decode func() error) (int, error) {
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return 0, fmt.Errorf("want an array")
	}
	n := 0
	for dec.More() {
		if err := decode(); err != nil {
			return n, err
		}
		n++
	}
	_, err := dec.Token()
	return n, err
}

// skipValue consumes one JSON value without keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
