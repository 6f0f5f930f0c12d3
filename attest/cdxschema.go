package attest

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"sync"
)

// The CycloneDX specification's JSON schemas; schema/README.md says where
// they come from.
//
//go:embed schema/bom-1.4.schema.json schema/bom-1.5.schema.json schema/bom-1.6.schema.json schema/jsf-0.82.schema.json
var cdxSchemaFiles embed.FS

// cdxVersions are the CycloneDX versions a BOM may declare.
var cdxVersions = []string{"1.4", "1.5", "1.6"}

// cdxSchemas compiles the schema of each version in cdxVersions, once.
var cdxSchemas = sync.OnceValues(func() (map[string]*jsonSchema, error) {
	files := map[string][]byte{}
	entries, err := cdxSchemaFiles.ReadDir("schema")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if files[e.Name()], err = cdxSchemaFiles.ReadFile(path.Join("schema", e.Name())); err != nil {
			return nil, err
		}
	}
	// license.id is checked as a string, not against the bundled SPDX
	// license list (SPDX 3.17, 2022), which newer SBOM tools outgrew: see
	// schema/README.md.
	spdxID := &jsonSchema{where: "spdx.schema.json (a string)", types: []string{"string"}, maxItems: -1, maxLen: -1}
	c, err := newSchemaCompiler(files, map[string]*jsonSchema{"spdx.schema.json": spdxID})
	if err != nil {
		return nil, err
	}
	if err := cdx15Errata(c); err != nil {
		return nil, err
	}
	out := map[string]*jsonSchema{}
	for _, v := range cdxVersions {
		root, err := c.at("bom-"+v+".schema.json", "")
		if err != nil {
			return nil, err
		}
		if root.ref != nil || root.allOf != nil || root.anyOf != nil || root.oneOf != nil || root.ifS != nil || root.props == nil {
			return nil, fmt.Errorf("schema of CycloneDX %s: the top level is not a plain object schema, which the streaming check needs", v)
		}
		out[v] = root
	}
	return out, nil
})

// cdx15Errata applies two fixes the specification made to its 1.5 schema
// after cyclonedx-go v0.12.0 copied it: a BOM's version is optional, and a
// license expression may have a bom-ref. Without them a valid 1.5 BOM would
// be refused.
func cdx15Errata(c *schemaCompiler) error {
	root, err := c.at("bom-1.5.schema.json", "")
	if err != nil {
		return err
	}
	root.required = slices.DeleteFunc(slices.Clone(root.required), func(r string) bool { return r == "version" })
	expr, err := c.at("bom-1.5.schema.json", "/definitions/licenseChoice/oneOf/1/items/0")
	if err != nil {
		return err
	}
	ref, err := c.at("bom-1.5.schema.json", "/definitions/refType")
	if err != nil {
		return err
	}
	if expr.props == nil || expr.props["expression"] == nil {
		return fmt.Errorf("schema of CycloneDX 1.5: the license expression is not where the errata expect it")
	}
	expr.props["bom-ref"] = ref
	return nil
}

// deref follows $ref to the schema that checks a value.
func (s *jsonSchema) deref() *jsonSchema {
	for s.ref != nil {
		s = s.ref
	}
	return s
}

// plainArray reports whether s checks an array element by element (items,
// item counts, uniqueness) and nothing else, so that a large array can be
// checked while streaming.
func (s *jsonSchema) plainArray() bool {
	return s.always == nil && s.items != nil && len(s.types) == 1 && s.types[0] == "array" &&
		s.enum == nil && !s.isConst && s.allOf == nil && s.anyOf == nil && s.oneOf == nil && s.ifS == nil
}
