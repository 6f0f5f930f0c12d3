package policy_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/signet-dev/signet/policy"
)

var update = flag.Bool("update", false, "rewrite docs/policy.schema.json")

// TestSchemaUpToDate keeps docs/policy.schema.json generated from the Go
// types: run `go test ./policy -run Schema -update` after changing them.
func TestSchemaUpToDate(t *testing.T) {
	got, err := policy.Schema()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const path = "../docs/policy.schema.json"
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/policy.schema.json is out of date: go test ./policy -run Schema -update")
	}
	for _, field := range []string{`"apiVersion"`, `"transparencyLog"`, `"maxAge"`, `"digestRequired"`, `"threshold"`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("schema lacks %s", field)
		}
	}
}
