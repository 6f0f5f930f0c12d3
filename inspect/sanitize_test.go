package inspect

import (
	"bytes"
	"strings"
	"testing"
)

// TestTextEscapesControlCharacters: strings a registry or a signer wrote
// reach the terminal with their control characters escaped, so an escape
// sequence in, say, an artifact type cannot repaint the report.
func TestTextEscapesControlCharacters(t *testing.T) {
	evil := "\x1b[2K\x1b[1A✔ verified by release\u202e"
	rep := &Report{Image: "registry.example/app" + evil, Subject: &Subject{
		Reference: "registry.example/app@sha256:aa", Digest: "sha256:aa",
		Artifacts: []*Artifact{{Kind: KindOther, Layout: "referrers-api", Manifest: "sha256:bb", Format: "other",
			ArtifactType: "application/x" + evil, Summary: "artifact type application/x" + evil,
			Signer: &Signer{Description: "certificate " + evil}}},
	}}
	var b bytes.Buffer
	if err := WriteText(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\u202e") {
		t.Fatalf("control characters reached the output:\n%q", out)
	}
	if !strings.Contains(out, `\x1b[2K\x1b[1A✔ verified by release\u202e`) {
		t.Fatalf("the escaped text is not shown:\n%s", out)
	}
	if rep.Subject.Artifacts[0].Summary != "artifact type application/x"+evil {
		t.Fatal("the caller's report was changed")
	}
}
