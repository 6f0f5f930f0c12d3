package trustbundle_test

import (
	"fmt"
	"time"

	"github.com/signet-dev/signet/trustbundle"
)

func ExampleNew() {
	b, err := trustbundle.New(7, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), []trustbundle.Input{
		{Name: "recalls.yaml", Role: trustbundle.RoleRecalls, Data: []byte("apiVersion: signet.dev/v1alpha1\nkind: RecallList\nversion: 3\n")},
		{Name: "release.pub", Role: trustbundle.RoleKey, Data: []byte("-----BEGIN PUBLIC KEY-----\n…")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range b.Files {
		fmt.Println(b.Contents.Version, f.Name, f.Role, f.MediaType)
	}
	// Output:
	// 7 recalls.yaml recalls application/vnd.signet.recalls.v1+yaml
	// 7 release.pub key application/x-pem-file
}
