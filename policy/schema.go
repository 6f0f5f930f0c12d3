package policy

import (
	"encoding/json"

	"github.com/invopop/jsonschema"
)

// Schema returns the JSON Schema of the policy document, generated from
// the Go types (docs/policy.schema.json is this, checked by a test).
func Schema() ([]byte, error) {
	r := &jsonschema.Reflector{FieldNameTag: "json", RequiredFromJSONSchemaTags: false, DoNotReference: false}
	s := r.Reflect(&Policy{})
	s.ID = "https://signet.dev/schemas/policy-v1alpha1.json"
	s.Title = "Signet policy (signet.dev/v1alpha1)"
	return json.MarshalIndent(s, "", "  ")
}
