package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	sumdbnote "golang.org/x/mod/sumdb/note"

	"github.com/signet-dev/signet/tlog"
)

// TestCheckpointRefusalsSayWhy: a checkpoint that does not verify says why
// in words (another key, altered, not a signed note), never the note
// library's "note has no verifiable signatures".
func TestCheckpointRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	const origin = "log.example/test"
	newKey := func() (signature.Signer, signature.Verifier) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := signature.LoadSigner(priv, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		v, err := signature.LoadVerifier(priv.Public(), crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		return s, v
	}
	logKey, logPub := newKey()
	otherKey, _ := newKey()
	signed := func(k signature.Signer) []byte {
		ns, err := note.NewNoteSigner(context.Background(), origin, k)
		if err != nil {
			t.Fatal(err)
		}
		cp := log.Checkpoint{Origin: origin, Size: 3, Hash: bytes.Repeat([]byte{7}, 32)}
		b, err := sumdbnote.Sign(&sumdbnote.Note{Text: string(cp.Marshal())}, ns)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cv, err := tlog.NewCheckpointVerifier(origin, logPub)
	if err != nil {
		t.Fatal(err)
	}
	good := signed(logKey)
	if cp, err := cv.Parse(good); err != nil || cp.Size != 3 {
		t.Fatalf("the log's own checkpoint: %v %v", cp, err)
	}
	altered := bytes.Replace(good, []byte("\n3\n"), []byte("\n4\n"), 1)
	for _, tc := range []struct {
		name string
		raw  []byte
		is   error
		says string
	}{
		{"another key", signed(otherKey), tlog.ErrNotSignedByKey, "it is signed by \"" + origin + "\""},
		{"altered", altered, nil, "does not verify: the checkpoint was altered"},
		{"not a note", []byte("hello\n"), nil, "it is not a signed checkpoint"},
	} {
		_, err := cv.Parse(tc.raw)
		if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "verifiable") {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.says)
		}
	}
}
