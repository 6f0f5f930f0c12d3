package migrate_test

import (
	"fmt"

	"github.com/signet-dev/signet/migrate"
)

func ExampleImport() {
	cip := `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: signed-by-release
spec:
  images:
    - glob: "registry.example.com/team/**"
  authorities:
    - name: release
      keyless:
        url: https://fulcio.sigstore.dev
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: ^https://github.com/example/app/
`
	res, err := migrate.Import([]migrate.File{{Name: "cip.yaml", Data: []byte(cip)}})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, _ := res.YAML()
	fmt.Printf("complete: %v\n%s", res.Complete(), doc)
	// Output:
	// complete: true
	// # Imported by signet policy import. Rules marked UNTRANSLATED refuse every image
	// # they apply to until someone finishes them by hand: read the import report.
	// apiVersion: signet.dev/v1alpha1
	// kind: Policy
	// metadata:
	//   name: imported
	// defaultAction: deny
	// images:
	//   # from ClusterImagePolicy signed-by-release (cip.yaml)
	//   - pattern: registry.example.com/team/**
	//     signers:
	//       - name: release
	//         keyless:
	//           issuer: https://token.actions.githubusercontent.com
	//           subjectRegExp: ^https://github.com/example/app/
	//     transparencyLog: required
}
