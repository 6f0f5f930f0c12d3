package sign_test

import (
	"encoding/json"
	"fmt"

	"github.com/signet-dev/signet/sign"
)

// The statement cosign v3 signs for an image, with the tag that was meant as
// the subject's name.
func ExampleStatement() {
	raw, _ := sign.Statement("registry.example.com/app:v1", "sha256:4d5f", map[string]string{"env": "prod"})
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name        string            `json:"name"`
			Digest      map[string]string `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"subject"`
	}
	_ = json.Unmarshal(raw, &st)
	fmt.Println(st.PredicateType)
	fmt.Println(st.Subject[0].Name, st.Subject[0].Digest["sha256"], st.Subject[0].Annotations["env"])
	// Output:
	// https://sigstore.dev/cosign/sign/v1
	// registry.example.com/app:v1 4d5f prod
}
