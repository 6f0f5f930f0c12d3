package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	in_toto "github.com/in-toto/attestation/go/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

func sshKeyID(t *testing.T, s signature.SignerVerifier) string {
	t.Helper()
	pub, err := s.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// keyBundleJSON is a key-signed bundle (no log entry) whose envelope holds
// payload, signed by each of signers over the DSSE pre-authentication
// encoding.
func keyBundleJSON(t testing.TB, payload []byte, signers ...signature.Signer) []byte {
	t.Helper()
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(inTotoPayloadType), inTotoPayloadType, len(payload), payload)
	var sigs []string
	for _, s := range signers {
		sig, err := s.SignMessage(strings.NewReader(pae))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, fmt.Sprintf(`{"sig":%q}`, base64.StdEncoding.EncodeToString(sig)))
	}
	return []byte(fmt.Sprintf(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"k"},"tlogEntries":[]},"dsseEnvelope":{"payload":%q,"payloadType":%q,"signatures":[%s]}}`,
		base64.StdEncoding.EncodeToString(payload), inTotoPayloadType, strings.Join(sigs, ",")))
}

func newTestSigner(t testing.TB) (signature.SignerVerifier, trustedKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sv, trustedKey{name: "k", id: "k", verifier: sv}
}

// TestKeyDSSEAsStrictAsSigstore: the key path's own DSSE check refuses
// every key-signed bundle sigstore-go's verifier refuses (it replaced that
// verifier when no log entry is asked for), a large statement (its
// predicate checked apart) as a small one. Not parallel: it sets
// bigStatementBytes.
func TestKeyDSSEAsStrictAsSigstore(t *testing.T) {
	signer, key := newTestSigner(t)
	other, _ := newTestSigner(t)
	sum := sha256.Sum256([]byte("image"))
	d := hex.EncodeToString(sum[:])
	stmt := func(subjects string) []byte {
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":` + subjects + `,"predicate":{}}`)
	}
	good := stmt(`[{"name":"img","digest":{"sha256":"` + d + `"}}]`)
	many := make([]string, 1025)
	for i := range many {
		many[i] = `{"name":"img","digest":{"sha256":"` + d + `"}}`
	}
	manyDigests := `{"sha256":"` + d + `"`
	for i := 0; i < 32; i++ {
		manyDigests += fmt.Sprintf(`,"x%d":"00"`, i)
	}
	manyDigests += "}"
	tests := []struct {
		name   string
		bundle []byte
		ok     bool
	}{
		{"good", keyBundleJSON(t, good, signer), true},
		{"a keyid naming another key", bytes.Replace(keyBundleJSON(t, good, signer), []byte(`{"sig":`), []byte(`{"keyid":"SHA256:other","sig":`), 1), false},
		{"a keyid naming this key", bytes.Replace(keyBundleJSON(t, good, signer), []byte(`{"sig":`), []byte(`{"keyid":"`+sshKeyID(t, signer)+`","sig":`), 1), true},
		{"a second signature by another key", keyBundleJSON(t, good, signer, other), false},
		{"the good signature twice", keyBundleJSON(t, good, signer, signer), false},
		{"another subject's digest is not hex", keyBundleJSON(t, stmt(`[{"name":"img","digest":{"sha256":"`+d+`"}},{"name":"x","digest":{"sha256":"zz"}}]`), signer), false},
		{"more than 1024 subjects", keyBundleJSON(t, stmt("["+strings.Join(many, ",")+"]"), signer), false},
		{"more than 32 digests in a subject", keyBundleJSON(t, stmt(`[{"name":"img","digest":`+manyDigests+`}]`), signer), false},
		{"subject twice", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"a","digest":{"sha256":"00"}}],"subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{}}`), signer), false},
		{"Subject in another case", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"a","digest":{"sha256":"00"}}],"Subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{}}`), signer), false},
		{"a repeated key in the predicate", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{"a":1,"a":2}}`), signer), false},
		{"an unknown member of a subject", keyBundleJSON(t, stmt(`[{"name":"img","Digest":{"sha256":"`+d+`"}}]`), signer), false},
		{"a repeated key deep in the predicate", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{"a":[{"b":{"c":1,"c":2}}]}}`), signer), false},
		{"a lone surrogate in the predicate", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{"a":"\ud800"}}`), signer), false},
		{"a number out of range in the predicate", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{"a":1e400}}`), signer), false},
		{"a predicate that is not an object", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":[1]}`), signer), false},
		{"a nested good predicate", keyBundleJSON(t, []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":[{"name":"img","digest":{"sha256":"`+d+`"}}],"predicate":{"a":[{"b":{"c":1,"d":[null,true,"x",-2.5e3]}},{"b":{"c":1}}],"e":{}}}`), signer), true},
		{"invalid UTF-8 in a name", keyBundleJSON(t, stmt(`[{"name":"\xff","digest":{"sha256":"`+d+`"}}]`), signer), false},
	}
	old := bigStatementBytes
	t.Cleanup(func() { bigStatementBytes = old })
	for _, big := range []int{old, 0} {
		bigStatementBytes = big
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s (split from %d bytes)", tc.name, big), func(t *testing.T) {
				b, st, err := ParseBundle(tc.bundle)
				if err != nil {
					if tc.ok {
						t.Fatal(err)
					}
					return // refused before any signature is checked
				}
				serr := (&Verifier{}).verifyBundleWithKey(b, key, "sha256", sum[:], false)
				ferr := verifyDSSEWithKey(b, st, key, "sha256", sum[:])
				if (serr == nil) != tc.ok {
					t.Fatalf("sigstore-go says %v, the case expects ok=%v", serr, tc.ok)
				}
				if (ferr == nil) != tc.ok {
					t.Fatalf("the key path says %v, sigstore-go %v", ferr, serr)
				}
			})
		}
	}
}

// TestPlainStruct: the streaming predicate check takes only what protojson
// surely reads as a Struct; everything else goes to protojson whole.
func TestPlainStruct(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"a":[{"b":{"c":1,"d":[null,true,"x",-2.5e3]}},{"b":{"c":1}}],"e":{}}`, true},
		{`{}`, true},
		{``, false},
		{` `, false},
		{`[]`, false},
		{`1`, false},
		{`{"a":1,"a":2}`, false},
		{`{"a":{"b":1},"c":{"b":1}}`, true},
		{`{"a":"\ud800"}`, false},
		{`{"":"\udC00"}`, false},
		{`{"a":"\uDfff"}`, false},
		{`{"a":"\ud83d\ude00 \u00e9"}`, true},
		{`{"a":"\ud83d\u0041"}`, false},
		{`{"a":"\ud83d"}`, false},
		{`{"a\ud83d":"\\ud83d"}`, false},
		{`{"a":"\\ud83d"}`, true},
		{`{"a":1e400}`, false},
		{`{"a":}`, false},
		{`{"a":1} {}`, false},
		{"{\"a\":\"\xff\"}", false},
		{strings.Repeat(`{"a":`, 1100) + "1" + strings.Repeat(`}`, 1100), false},
	}
	for _, tc := range tests {
		if got := plainStruct([]byte(tc.in)); got != tc.want {
			t.Errorf("%.60s: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzPlainStruct: what the streaming predicate check takes, protojson
// reads as a Struct (the check may leave more to protojson, never less).
func FuzzPlainStruct(f *testing.F) {
	f.Add([]byte(`{"a":[{"b":{"c":1,"d":[null,true,"x",-2.5e3]}}],"e":{}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":"\ud800\udc00","b":"\u00e9"}`))
	f.Add([]byte(`{"a":1e308,"b":-0,"c":0.5E-3}`))
	// Reviewed attacks: numbers protojson refuses or reads apart, strings
	// with raw control characters, bad escapes or lone surrogates, names
	// equal only once unescaped, a repeat among many members.
	for _, in := range []string{
		`{"a":-0}`, `{"a":1E400}`, `{"a":-1e400}`, `{"a":1e-400}`, `{"a":1e+308}`, `{"a":01}`, `{"a":-01}`,
		`{"a":1.e5}`, `{"a":.5}`, `{"a":+1}`, `{"a":0x10}`, `{"a":Infinity}`, `{"a":NaN}`, `{"a":1_000}`,
		`{"a":` + strings.Repeat("9", 400) + `}`, `{"a":0.` + strings.Repeat("0", 400) + `1}`,
		"{\"a\":\"\t\"}", "{\"a\":\"\x7f\"}", `{"a":"\u0000"}`, `{"a":"\a"}`, `{"a":"\u12"}`, `{"a":"\u+123"}`,
		`{"a":"\uDBFF\uDFFF"}`, `{"a":"\uDC00\uD800"}`, `{"a":"\uD800\\uDC00"}`,
		`{"a":1,"\u0061":2}`, `{"a":1,"\/":2,"/":3}`, "{\"\xc3\xa9\":1,\"e\xcc\x81\":2}",
		"{\"a\":1}\x00", "\xef\xbb\xbf{}", `{"a":1}/**/`, `{"a":[1,]}`, `{"a":nul}`, `{"a":truefalse}`,
	} {
		f.Add([]byte(in))
	}
	var many strings.Builder
	many.WriteByte('{')
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&many, `"k%d":{"k%d":%d},`, i, i, i)
	}
	f.Add([]byte(many.String() + `"k39":0}`))
	f.Add([]byte(many.String() + `"k40":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if plainStruct(data) {
			if err := protojson.Unmarshal(data, &structpb.Struct{}); err != nil {
				t.Fatalf("the check took %q, protojson refuses it: %v", data, err)
			}
		}
	})
}

// BenchmarkProtoStatementCheck: the streaming check of a large statement
// (about 20 MB of SBOM components).
func BenchmarkProtoStatementCheck(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://cyclonedx.org/bom","subject":[{"name":"img","digest":{"sha256":"00"}}],"predicate":{"bomFormat":"CycloneDX","components":[`)
	for i := 0; sb.Len() < 20<<20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"library","name":"package-%d","version":"1.0.%d","purl":"pkg:generic/package-%d@1.0.%d","licenses":[{"license":{"id":"MIT"}}]}`, i, i, i, i)
	}
	sb.WriteString(`]}}`)
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if err := protoStatementCheck(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzStatementCheck: a large statement checked in two parts (the rest by
// protojson, the predicate streamed) is refused exactly when protojson
// refuses it whole, or left to protojson whole.
func FuzzStatementCheck(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicate":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"_type":"t","subject":[],"Subject":[],"predicate":{}}`))
	f.Add([]byte(`{"predicate":{"a":1},"predicate":{}}`))
	f.Add([]byte(`{"pre\u0064icate":{"a":1,"a":1},"predicate":{}}`))
	f.Add([]byte(`{"predicate_type":"x","predicateType":"y","predicate":{}}`))
	f.Add([]byte(`{"subject":[{"name":"\udc00"}],"predicate":{"x":"\u00e9"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ok, err := splitStatementCheck(raw)
		if !ok {
			return
		}
		werr := protojson.Unmarshal(raw, &in_toto.Statement{})
		if (err == nil) != (werr == nil) {
			t.Fatalf("split check says %v, protojson %v", err, werr)
		}
	})
}

// FuzzKeyDSSE: the key path's own check of a signed statement agrees with
// sigstore-go's verifier (a large statement's predicate streamed: every
// statement takes that path here).
func FuzzKeyDSSE(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"a","digest":{"sha256":"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"}}],"predicate":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"a","digest":{"sha256":"6B86B273FF34FCE19D6B804EFF5A3F5747ADA4EAA22F1D49C01E52DDB7875B4B","sha512":"zz"}}],"predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"a","digest":{"sha256":"00"}}],"SUBJECT":[{"name":"a","digest":{"sha256":"6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"}}]}`))
	signer, key := newTestSigner(f)
	sum := sha256.Sum256([]byte("1"))
	old := bigStatementBytes
	bigStatementBytes = 0
	f.Cleanup(func() { bigStatementBytes = old })
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, st, err := ParseBundle(keyBundleJSON(t, payload, signer))
		if err != nil {
			return
		}
		serr := (&Verifier{}).verifyBundleWithKey(b, key, "sha256", sum[:], false)
		ferr := verifyDSSEWithKey(b, st, key, "sha256", sum[:])
		if (serr == nil) != (ferr == nil) {
			t.Fatalf("the key path says %v, sigstore-go %v", ferr, serr)
		}
	})
}

// TestKeyVerifierSaysMalformed: a malformed key-signed bundle is refused
// for what it is, not as signed by an untrusted key.
func TestKeyVerifierSaysMalformed(t *testing.T) {
	t.Parallel()
	signer, key := newTestSigner(t)
	sum := sha256.Sum256([]byte("image"))
	d := hex.EncodeToString(sum[:])
	good := []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"img","digest":{"sha256":"` + d + `"}}],"predicate":{}}`)
	dup := []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"img","digest":{"sha256":"00"}}],"subject":[{"name":"img","digest":{"sha256":"` + d + `"}}],"predicate":{}}`)
	tests := []struct {
		name   string
		bundle []byte
		reason string
	}{
		{"two signatures", keyBundleJSON(t, good, signer, signer), "holds 2 signatures"},
		{"subject twice", keyBundleJSON(t, dup, signer), "not a well-formed in-toto statement"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, st, err := ParseBundle(tc.bundle)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{keys: []trustedKey{key}}
			_, err = v.keyVerifier(b, &Signature{statement: st})("sha256", sum[:], false)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("want malformed (%q), got %v", tc.reason, err)
			}
		})
	}
}

// TestPlainStructInPlace: more of what the in-place check takes and what
// it leaves to protojson; and it reads a plain SBOM without garbage in
// proportion to it (the collector would let the heap grow by the
// statement's size again).
func TestPlainStructInPlace(t *testing.T) {
	tests := []struct {
		in    string
		plain bool
	}{
		{`{"a":[{"b":{"c":1,"d":[null,true,false,"x",-2.5,0]}}],"e":{},"f":[]}`, true},
		{` { "a" : "é\u00e9\n" } `, true},
		{`{"a":1,"a":2}`, false},
		{`{"a":{"x":1},"b":{"x":1}}`, true},
		{`{"a\u0062":1}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":1e400}`, false},
		{`{"a":1e3}`, true},
		{`{"a":12345678901234567890}`, true},
		{"{\"a\":\"\x01\"}", false},
		{`{"a":"\x"}`, false},
		{`{"a":tru}`, false},
		{`{"a":1}x`, false},
		{`{"a":1,}`, false},
		{`{"a" 1}`, false},
		{`[1]`, false},
		{strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000), false},
		{strings.Repeat(`{"a":`, 900) + `1` + strings.Repeat(`}`, 900), true},
	}
	for _, tc := range tests {
		if got := plainStruct([]byte(tc.in)); got != tc.plain {
			t.Errorf("%.60s: plain %v, want %v", tc.in, got, tc.plain)
		}
		if tc.plain {
			if err := protojson.Unmarshal([]byte(tc.in), &structpb.Struct{}); err != nil {
				t.Errorf("%.60s: protojson refuses it: %v", tc.in, err)
			}
		}
	}
	var sb strings.Builder
	sb.WriteString(`{"bomFormat":"CycloneDX","version":1,"components":[`)
	for i := 0; sb.Len() < 1<<20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"library","name":"package-%d","version":"1.0.%d","licenses":[{"license":{"id":"MIT"}}]}`, i, i)
	}
	sb.WriteString(`]}`)
	sbom := []byte(sb.String())
	if !plainStruct(sbom) {
		t.Fatal("a plain SBOM is left to protojson")
	}
	if n := testing.AllocsPerRun(3, func() { plainStruct(sbom) }); n > 64 {
		t.Fatalf("checking a 1 MB SBOM allocated %v times; it should read in place", n)
	}
}

// TestPlainStructManyMembers: an object with many members (a signed
// predicate that is one flat map, path to digest) is checked with work
// in proportion to its members, not to their square — 20,000 members were
// 200 million comparisons, a 1 MB statement of 100,000 members minutes
// of CPU in a verifier — and a repeated member is still found in it, or
// in one of its large children, without mixing up siblings' names.
func TestPlainStructManyMembers(t *testing.T) {
	flat := func(n int, extra string) []byte {
		var sb strings.Builder
		sb.WriteByte('{')
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
		}
		sb.WriteString(extra + `}`)
		return []byte(sb.String())
	}
	const n = 20000
	tests := []struct {
		name  string
		in    []byte
		plain bool
	}{
		{"flat", flat(n, `"last":0`), true},
		{"repeated last", flat(n, `"k17":0`), false},
		{"repeated early", flat(n, `"k17":0,"x":1`), false},
		{"repeated among the first", flat(10, `"k3":0`), false},
		{"large children", flat(n, `"a":`+string(flat(100, `"z":0`))+`,"b":`+string(flat(100, `"z":0`))), true},
		{"repeated in a large child", flat(n, `"a":`+string(flat(100, `"k99":0`))), false},
		{"child's names are not the parent's", flat(n, `"a":{"k1":0,"k2":0}`), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, compares := checkStruct(tc.in)
			if ok != tc.plain {
				t.Fatalf("plain %v, want %v", ok, tc.plain)
			}
			if compares > 4*n {
				t.Fatalf("%d member names compared for about %d members: the check is not linear", compares, n)
			}
			if tc.plain {
				if err := protojson.Unmarshal(tc.in, &structpb.Struct{}); err != nil {
					t.Fatalf("protojson refuses it: %v", err)
				}
			}
		})
	}
}

// BenchmarkPlainStructFlatMap: the in-place check of a predicate that is
// one flat object of about 1 MB (63,000 members), checked for repeated
// names with a set (before: 8.3 s a check, the square of the members;
// now about 14 ms, on a loaded 2-core machine).
func BenchmarkPlainStructFlatMap(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; sb.Len() < 1<<20; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"f%d":"%d"`, i, i)
	}
	sb.WriteByte('}')
	obj := []byte(sb.String())
	b.SetBytes(int64(len(obj)))
	b.ReportAllocs()
	for b.Loop() {
		if !plainStruct(obj) {
			b.Fatal("a plain flat map is left to protojson")
		}
	}
}
