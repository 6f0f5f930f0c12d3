package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	ssldsse "github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
)

// legacyLog is a Rekor v1 log key and what it signs: cosign v2's
// dev.sigstore.cosign/bundle annotations.
type legacyLog struct {
	key *ecdsa.PrivateKey
	id  string // hex SHA-256 of the PKIX key
}

func newLegacyLog(t testing.TB) *legacyLog {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	sum := sha256.Sum256(der)
	return &legacyLog{key: k, id: hex.EncodeToString(sum[:])}
}

// root is a trusted root listing the log from start.
func (l *legacyLog) root(t *testing.T, start time.Time) root.TrustedMaterial {
	t.Helper()
	id, _ := hex.DecodeString(l.id)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{l.id: {
		BaseURL: "https://rekor.test", ID: id, ValidityPeriodStart: start, HashFunc: crypto.SHA256,
		PublicKey: l.key.Public(), SignatureHashFunc: crypto.SHA256,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// annotation signs body as entry 7, logged at integrated, as the log would.
func (l *legacyLog) annotation(t *testing.T, body []byte, integrated int64) string {
	t.Helper()
	payload := map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": integrated, "logIndex": 7, "logID": l.id}
	b, _ := json.Marshal(payload)
	canon, err := jsoncanonicalizer.Transform(b)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	set, err := ecdsa.SignASN1(rand.Reader, l.key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": payload})
	return string(out)
}

func hashOf(b []byte) map[string]string {
	sum := sha256.Sum256(b)
	return map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}
}

func pemKey(t *testing.T, k crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func hashedRekord(t *testing.T, payload, sig []byte, key crypto.PublicKey) []byte {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": map[string]any{
		"data":      map[string]any{"hash": hashOf(payload)},
		"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": pemKey(t, key)}},
	}})
	return b
}

// TestLegacyLayerLogEntry checks cosign v2's legacy .sig layers against the
// transparency-log mode: the SET must verify with the trusted log's key and
// the entry must record this signature, key and payload.
func TestLegacyLayerLogEntry(t *testing.T) {
	t.Parallel()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	log, rogue := newLegacyLog(t), newLegacyLog(t)
	const digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	payload, err := sign.SimpleSigningPayload("registry.example.com/app", digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	sigOf := func(k *ecdsa.PrivateKey, b []byte) []byte {
		sum := sha256.Sum256(b)
		s, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
		return s
	}
	sig := sigOf(signer, payload)
	now := time.Now().Unix()
	good := log.annotation(t, hashedRekord(t, payload, sig, signer.Public()), now)
	otherPayload := []byte(strings.Replace(string(payload), "app", "other", 1))

	cases := []struct {
		name     string
		ann      string // "" = none
		root     root.TrustedMaterial
		mode     TlogMode
		wantErr  error  // nil: verified
		reason   string // part of the reason
		verified bool   // the entry is marked verified
	}{
		{"entry from the trusted log, required", good, log.root(t, time.Unix(0, 0)), TlogRequired, nil, "", true},
		{"entry from the trusted log, optional", good, log.root(t, time.Unix(0, 0)), TlogOptional, nil, "", true},
		{"no entry, required", "", log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "carries none", false},
		{"no entry, optional", "", log.root(t, time.Unix(0, 0)), TlogOptional, nil, "", false},
		{"no entry, skip", "", nil, TlogSkip, nil, "", false},
		{"required without a trusted root", good, nil, TlogRequired, ErrTransparencyLog, "no trusted root lists any log", false},
		{"entry from an untrusted log, required", rogue.annotation(t, hashedRekord(t, payload, sig, signer.Public()), now),
			log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "not from a trusted log", false},
		{"entry from an untrusted log, optional", rogue.annotation(t, hashedRekord(t, payload, sig, signer.Public()), now),
			log.root(t, time.Unix(0, 0)), TlogOptional, nil, "", false},
		{"SET signed by another key under the trusted log's ID", strings.Replace(rogue.annotation(t, hashedRekord(t, payload, sig, signer.Public()), now), rogue.id, log.id, 1),
			log.root(t, time.Unix(0, 0)), TlogOptional, ErrTransparencyLog, "signed entry timestamp does not verify", false},
		{"entry for another payload", log.annotation(t, hashedRekord(t, otherPayload, sig, signer.Public()), now),
			log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "another payload", false},
		{"entry with another signature", log.annotation(t, hashedRekord(t, payload, sigOf(signer, otherPayload), signer.Public()), now),
			log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "another signature", false},
		{"entry with another key", log.annotation(t, hashedRekord(t, payload, sig, other.Public()), now),
			log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "another key", false},
		{"entry of another kind", log.annotation(t, []byte(`{"apiVersion":"0.0.1","kind":"rekord","spec":{}}`), now),
			log.root(t, time.Unix(0, 0)), TlogRequired, ErrTransparencyLog, "kind rekord/0.0.1", false},
		{"logged before the log key was valid", good, log.root(t, time.Now().Add(time.Hour)), TlogRequired, ErrTransparencyLog, "outside the trusted log key's validity", false},
		{"annotation not a log entry", `{"SignedEntryTimestamp":"","Payload":{}}`, log.root(t, time.Unix(0, 0)), TlogOptional, ErrMalformed, "not a Rekor entry", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if tc.root != nil {
				opts = append(opts, WithTrustedRoot(tc.root))
			}
			v, err := New(oci.New(), []Key{{Name: "release.pub", PublicKey: signer.Public()}}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := &oci.Artifact{Layout: oci.LayoutLegacyTag, Kind: oci.KindSimpleSigning, Content: payload,
				Signature: base64.StdEncoding.EncodeToString(sig), Annotations: map[string]string{}}
			if tc.ann != "" {
				a.Annotations[oci.AnnotationLegacyBundle] = tc.ann
			}
			s := v.checkSimpleSigning(a, digest, Request{TransparencyLog: tc.mode})
			switch {
			case tc.wantErr == nil && s.err != nil:
				t.Fatalf("refused: %v", s.err)
			case tc.wantErr != nil && !errors.Is(s.err, tc.wantErr):
				t.Fatalf("error %v, want %v", s.err, tc.wantErr)
			case tc.wantErr != nil && !strings.Contains(s.err.Error(), tc.reason):
				t.Fatalf("error %q lacks %q", s.err, tc.reason)
			}
			if got := len(s.Log) == 1 && s.Log[0].Verified && s.Log[0].SETOnly; got != tc.verified {
				t.Fatalf("entry verified = %v, want %v (log %+v)", got, tc.verified, s.Log)
			}
		})
	}
}

// TestLegacyAttestationLogEntry checks a legacy .att layer's entry: cosign
// v2 logs attestations as intoto 0.0.1 (or dsse 0.0.1).
func TestLegacyAttestationLogEntry(t *testing.T) {
	t.Parallel()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	log := newLegacyLog(t)
	const digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	const pt = "https://cyclonedx.org/bom"
	stmt := func(d string) []byte {
		b, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": pt, "predicate": map[string]any{},
			"subject": []any{map[string]any{"name": "registry.example.com/app", "digest": map[string]string{"sha256": strings.TrimPrefix(d, "sha256:")}}}})
		return b
	}
	payload := stmt(digest)
	pae := ssldsse.PAE(inTotoPayloadType, payload)
	sum := sha256.Sum256(pae)
	rawSig, _ := ecdsa.SignASN1(rand.Reader, signer, sum[:])
	env, _ := json.Marshal(map[string]any{"payloadType": inTotoPayloadType, "payload": payload,
		"signatures": []any{map[string]any{"keyid": "", "sig": rawSig}}})
	intoto := func(envelope, p []byte) []byte {
		b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "intoto", "spec": map[string]any{
			"content": map[string]any{"hash": hashOf(envelope), "payloadHash": hashOf(p)}, "publicKey": pemKey(t, signer.Public())}})
		return b
	}
	dsse := func(p, s []byte) []byte {
		b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "dsse", "spec": map[string]any{
			"envelopeHash": hashOf(env), "payloadHash": hashOf(p),
			"signatures": []any{map[string]any{"signature": base64.StdEncoding.EncodeToString(s), "verifier": pemKey(t, signer.Public())}}}})
		return b
	}
	now := time.Now().Unix()
	cases := []struct {
		name    string
		body    []byte
		wantErr string // "" = verified
	}{
		{"intoto 0.0.1 recording this envelope", intoto(env, payload), ""},
		{"dsse 0.0.1 recording this signature", dsse(payload, rawSig), ""},
		{"intoto 0.0.1 for another envelope", intoto([]byte(`{}`), payload), "another envelope"},
		{"dsse 0.0.1 for another payload", dsse(stmt("sha256:3333333333333333333333333333333333333333333333333333333333333333"), rawSig), "another payload"},
		{"dsse 0.0.1 with another signature", dsse(payload, []byte("forged")), "another signature or key"},
		{"hashedrekord for an attestation", hashedRekord(t, env, rawSig, signer.Public()), "does not check for an attestation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(oci.New(), []Key{{Name: "release.pub", PublicKey: signer.Public()}}, WithTrustedRoot(log.root(t, time.Unix(0, 0))))
			if err != nil {
				t.Fatal(err)
			}
			a := &oci.Artifact{Layout: oci.LayoutLegacyTag, Kind: oci.KindDSSE, Content: env,
				Annotations: map[string]string{oci.AnnotationLegacyBundle: log.annotation(t, tc.body, now)}}
			s := v.checkLegacyAttestation(context.Background(), a, digest, pt, TlogRequired)
			if s == nil {
				t.Fatal("attestation ignored")
			}
			if tc.wantErr == "" {
				if s.err != nil || len(s.Log) != 1 || !s.Log[0].Verified {
					t.Fatalf("refused: %v (log %+v)", s.err, s.Log)
				}
				return
			}
			if !errors.Is(s.err, ErrTransparencyLog) || !strings.Contains(s.err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want a log failure saying %q", s.err, tc.wantErr)
			}
		})
	}
}

// FuzzLegacyLogAnnotation feeds arbitrary dev.sigstore.cosign/bundle
// annotations to the legacy-layer log check: it must never panic, and never
// pass an entry the trusted log did not sign.
func FuzzLegacyLogAnnotation(f *testing.F) {
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	log := newLegacyLog(f)
	payload := []byte(`{"critical":{}}`)
	f.Add(`{"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"e30=","integratedTime":1,"logIndex":0,"logID":"` + log.id + `"}}`)
	f.Add(`{"Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIn0="}}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, ann string) {
		v, err := New(oci.New(), []Key{{Name: "k", PublicKey: signer.Public()}}, WithTrustedRoot(log.root(t, time.Unix(0, 0))))
		if err != nil {
			t.Fatal(err)
		}
		s := &Signature{}
		a := &oci.Artifact{Annotations: map[string]string{oci.AnnotationLegacyBundle: ann}}
		if v.checkLegacyTlog(s, a, TlogRequired, legacySigned{content: payload, signature: []byte("sig"), key: signer.Public()}) {
			t.Fatalf("an annotation the log never signed passed: %q", ann)
		}
		matchLegacyEntry([]byte(ann), legacySigned{content: payload, payload: payload, key: signer.Public()})
	})
}

// TestLegacyLogSETKeyChecks holds the SET check of a legacy layer to what
// Sigstore's clients accept for a bundle's Rekor v1 entry (sigstore-go's
// tlog.VerifySET): the log key must be ECDSA — an Ed25519 key in a trusted
// root is a Rekor v2 log's, which signs checkpoints, never entry timestamps
// — and must have a start of validity.
func TestLegacyLogSETKeyChecks(t *testing.T) {
	t.Parallel()
	signer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const digest = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
	payload, err := sign.SimpleSigningPayload("registry.example.com/app", digest, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	sig, _ := ecdsa.SignASN1(rand.Reader, signer, sum[:])
	body := hashedRekord(t, payload, sig, signer.Public())
	now := time.Now().Unix()

	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(edPub)
	idSum := sha256.Sum256(der)
	edID := hex.EncodeToString(idSum[:])
	fields := map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": now, "logIndex": 7, "logID": edID}
	b, _ := json.Marshal(fields)
	canon, _ := jsoncanonicalizer.Transform(b)
	edAnn, _ := json.Marshal(map[string]any{"SignedEntryTimestamp": ed25519.Sign(edPriv, canon), "Payload": fields})
	edRoot, err := root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, map[string]*root.TransparencyLog{edID: {
		BaseURL: "https://log2.test", ID: idSum[:], ValidityPeriodStart: time.Unix(0, 0), HashFunc: crypto.SHA256,
		PublicKey: edPub, SignatureHashFunc: crypto.SHA256,
	}})
	if err != nil {
		t.Fatal(err)
	}
	log := newLegacyLog(t)

	cases := []struct {
		name   string
		ann    string
		root   root.TrustedMaterial
		reason string
	}{
		{"SET signed with a trusted Ed25519 (Rekor v2) log key", string(edAnn), edRoot, "not an ECDSA key"},
		{"trusted log key without a start of validity", log.annotation(t, body, now), log.root(t, time.Time{}), "no start of validity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := New(oci.New(), []Key{{Name: "release.pub", PublicKey: signer.Public()}}, WithTrustedRoot(tc.root))
			if err != nil {
				t.Fatal(err)
			}
			a := &oci.Artifact{Layout: oci.LayoutLegacyTag, Kind: oci.KindSimpleSigning, Content: payload,
				Signature: base64.StdEncoding.EncodeToString(sig), Annotations: map[string]string{oci.AnnotationLegacyBundle: tc.ann}}
			s := v.checkSimpleSigning(a, digest, Request{TransparencyLog: TlogRequired})
			if !errors.Is(s.err, ErrTransparencyLog) || !strings.Contains(s.err.Error(), tc.reason) {
				t.Fatalf("error %v, want a log refusal saying %q", s.err, tc.reason)
			}
			if len(s.Log) != 1 || s.Log[0].Verified {
				t.Fatalf("log %+v, want one unverified entry", s.Log)
			}
		})
	}
}
