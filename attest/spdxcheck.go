package attest

import (
	"encoding/json"
	"sync"
)

// spdxRequired is the part of the SPDX 2.3 JSON schema that says which
// fields a document and its elements must have (the schema's "required"
// lists, written out here by hand): tools-golang parses a document without
// them. It checks nothing else; 2.2 documents, whose lists are longer, are
// held to the same.
const spdxRequired = `{
  "type": "object",
  "required": ["SPDXID", "creationInfo", "dataLicense", "name", "spdxVersion"],
  "properties": {
    "SPDXID": {"type": "string"},
    "dataLicense": {"type": "string"},
    "name": {"type": "string"},
    "spdxVersion": {"type": "string"},
    "creationInfo": {"$ref": "#/definitions/creationInfo"},
    "packages": {"type": "array", "items": {"$ref": "#/definitions/package"}},
    "files": {"type": "array", "items": {"$ref": "#/definitions/file"}},
    "snippets": {"type": "array", "items": {"$ref": "#/definitions/snippet"}},
    "relationships": {"type": "array", "items": {"$ref": "#/definitions/relationship"}}
  },
  "definitions": {
    "creationInfo": {
      "type": "object",
      "required": ["created", "creators"],
      "properties": {
        "created": {"type": "string"},
        "creators": {"type": "array", "minItems": 1, "items": {"type": "string"}}
      }
    },
    "package": {
      "type": "object",
      "required": ["SPDXID", "downloadLocation", "name"],
      "properties": {
        "SPDXID": {"type": "string"}, "downloadLocation": {"type": "string"}, "name": {"type": "string"},
        "checksums": {"type": "array", "items": {"$ref": "#/definitions/checksum"}}
      }
    },
    "file": {
      "type": "object",
      "required": ["SPDXID", "checksums", "fileName"],
      "properties": {
        "SPDXID": {"type": "string"}, "fileName": {"type": "string"},
        "checksums": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/checksum"}}
      }
    },
    "snippet": {
      "type": "object",
      "required": ["SPDXID", "ranges", "snippetFromFile"],
      "properties": {"ranges": {"type": "array", "minItems": 1}}
    },
    "relationship": {
      "type": "object",
      "required": ["spdxElementId", "relatedSpdxElement", "relationshipType"],
      "properties": {
        "spdxElementId": {"type": "string"}, "relatedSpdxElement": {"type": "string"}, "relationshipType": {"type": "string"}
      }
    },
    "checksum": {
      "type": "object",
      "required": ["algorithm", "checksumValue"],
      "properties": {"algorithm": {"type": "string"}, "checksumValue": {"type": "string"}}
    }
  }
}`

var spdxRequiredSchema = sync.OnceValues(func() (*jsonSchema, error) {
	c, err := newSchemaCompiler(map[string][]byte{"spdx-required": []byte(spdxRequired)}, nil)
	if err != nil {
		return nil, err
	}
	return c.at("spdx-required", "")
})

// checkSPDXFields checks that an SPDX JSON document has the fields the SPDX
// 2.3 schema requires.
func checkSPDXFields(kind string, doc []byte) error {
	s, err := spdxRequiredSchema()
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return invalid(kind, "not JSON: %v", err)
	}
	if serr := s.validate(v, nil); serr != nil {
		if serr.path == nil {
			return invalid(kind, "not a valid SPDX document: %s", serr.message())
		}
		return invalid(kind, "not a valid SPDX document: %s", serr)
	}
	return nil
}
