// Package quickstart runs Signet's whole story offline, on one machine, as a
// tour: a local registry, a key, a signed image that verifies, and two
// attacks that are refused with their reasons.
package quickstart

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/localregistry"
	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
	"github.com/signet-dev/signet/verify"
)

// password protects the quickstart's throwaway key.
const password = "quickstart"

// Run performs the tour in dir (a fresh temporary directory), writing a
// narration to w. It returns an error if any step does not behave as the
// tour says it should: the quickstart doubles as a smoke test.
func Run(ctx context.Context, w io.Writer, dir string) error {
	t := &tour{w: w}
	reg, err := localregistry.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer reg.Close()
	t.step("Started a local OCI registry (referrers API on) at %s", reg.Addr)

	app, err := pushRandom(ctx, reg.Addr+"/team/app:v1")
	if err != nil {
		return err
	}
	t.detail("pushed %s", app.Context().Tag("v1"))
	t.detail("digest %s", app.DigestStr())

	ln, origin, err := logserver.ListenOrigin("127.0.0.1:0")
	if err != nil {
		return err
	}
	tl, err := logserver.Open(ctx, filepath.Join(dir, "log"), origin)
	if err != nil {
		ln.Close()
		return err
	}
	defer tl.Close(context.Background())
	logSrv := tl.Serve(ln)
	defer logSrv.Close()
	t.step("Started a transparency log (Rekor v2 API, Tessera storage) at %s", logSrv.URL)
	t.detail("its key and tiles live in %s", filepath.Join(dir, "log"))

	priv, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		return err
	}
	keyPath, pubPath, err := keys.WriteKeyPair(filepath.Join(dir, "release"), priv, []byte(password), false)
	if err != nil {
		return err
	}
	t.step("Generated an ECDSA P-256 key pair")
	t.detail("%s (encrypted with password %q, mode 0600; cosign reads it too)", keyPath, password)
	t.detail("%s", pubPath)

	loader := keys.Loader{Password: func(string) ([]byte, error) { return []byte(password), nil }}
	sv, err := loader.LoadSigner(ctx, keyPath)
	if err != nil {
		return err
	}
	client := oci.New()
	writer, err := tlog.Service{URL: logSrv.URL, APIVersion: 2}.Writer(30 * time.Second)
	if err != nil {
		return err
	}
	signer, err := sign.New(sv, client, sign.WithTransparencyLog(writer))
	if err != nil {
		return err
	}
	sres, err := signer.SignImage(ctx, app.String(), sign.Request{Annotations: map[string]string{"release": "v1"}})
	if err != nil {
		return err
	}
	t.step("Signed the digest (not the tag), with the annotation release=v1")
	for _, e := range sres.Signed[0].Log {
		t.detail("logged at index %d (%s); the inclusion proof and signed checkpoint are in the bundle", e.Index, e.Kind)
	}
	t.detail("signature stored as an OCI referrer: %s", sres.Signed[0].Attached[0].Ref)
	t.detail("same format as cosign v3: `cosign verify --key %s` accepts it", pubPath)

	if err := t.attachAttestations(ctx, signer, client, app); err != nil {
		return err
	}

	_, pub, err := loader.LoadVerifier(ctx, pubPath)
	if err != nil {
		return err
	}
	trusted, err := tlog.TrustedRoot(tl.Self(logSrv.URL))
	if err != nil {
		return err
	}
	v, err := verify.New(client, []verify.Key{{Name: filepath.Base(pubPath), PublicKey: pub}}, verify.WithTrustedRoot(trusted))
	if err != nil {
		return err
	}
	logSrv.Close() // verification needs no network to the log
	res, err := v.Verify(ctx, app.Context().Tag("v1").String(), verify.Request{Annotations: map[string]string{"release": "v1"}, TransparencyLog: verify.TlogRequired})
	if err != nil {
		return fmt.Errorf("quickstart: the signed image did not verify: %w", err)
	}
	t.step("Verified team/app:v1 → PASS (log server already stopped: the proof is checked offline)")
	for _, c := range res.Signatures[0].Checks {
		t.detail("✓ %-11s %s", c.Name, c.Detail)
	}

	if err := t.checkAttestations(ctx, v, app); err != nil {
		return err
	}

	evil, err := pushRandom(ctx, reg.Addr+"/team/app:v1-hotfix")
	if err != nil {
		return err
	}
	t.step("An attacker pushes an unsigned image, team/app:v1-hotfix")
	_, err = v.Verify(ctx, evil.String(), verify.Request{})
	if !errors.Is(err, verify.ErrNoSignatures) {
		return fmt.Errorf("quickstart: the unsigned image was not refused as unsigned: %v", err)
	}
	t.detail("✗ REFUSED: %s (exit code 3)", verify.ErrNoSignatures)

	if err := copySignature(ctx, client, app, evil); err != nil {
		return err
	}
	t.step("The attacker copies the valid signature of team/app:v1 onto the hotfix image")
	res, err = v.Verify(ctx, evil.String(), verify.Request{})
	if !errors.Is(err, verify.ErrDigestMismatch) {
		return fmt.Errorf("quickstart: the copied signature was not refused as copied: %v", err)
	}
	t.detail("✗ REFUSED: %s (exit code 4)", res.Signatures[0].Error)
	t.detail("  the signature itself is valid, but the signed statement names another digest")

	fmt.Fprintf(w, "\nDone. Everything ran offline; the key lived in %s.\nTry it yourself: signet registry serve, signet keys generate, signet sign, signet verify (--help on each).\n", dir)
	return nil
}

type tour struct {
	w io.Writer
	n int
}

func (t *tour) step(format string, a ...any) {
	t.n++
	fmt.Fprintf(t.w, "\n%d. %s\n", t.n, fmt.Sprintf(format, a...))
}

func (t *tour) detail(format string, a ...any) {
	fmt.Fprintf(t.w, "   %s\n", strings.TrimRight(fmt.Sprintf(format, a...), "\n"))
}

func pushRandom(ctx context.Context, ref string) (name.Digest, error) {
	r, err := name.NewTag(ref)
	if err != nil {
		return name.Digest{}, err
	}
	img, err := random.Image(512, 2)
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(r, img, remote.WithContext(ctx)); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return r.Context().Digest(h.String()), nil
}

// copySignature attaches from's signature bundles, unchanged, to to.
func copySignature(ctx context.Context, c *oci.Client, from, to name.Digest) error {
	src, err := c.Resolve(ctx, from.String())
	if err != nil {
		return err
	}
	dst, err := c.Resolve(ctx, to.String())
	if err != nil {
		return err
	}
	arts, err := c.Discover(ctx, src)
	if err != nil {
		return err
	}
	for _, a := range arts {
		if a.Kind == oci.KindBundle && a.Err == nil {
			if _, err := c.AttachBundle(ctx, dst, a.BundleJSON(), a.Annotations); err != nil {
				return err
			}
		}
	}
	return nil
}

//go:embed demo/sbom.cdx.json
var demoSBOM []byte

//go:embed demo/trivy.json
var demoScan []byte

// attachAttestations attaches an SBOM and a scan result.
func (t *tour) attachAttestations(ctx context.Context, signer *sign.Signer, client *oci.Client, app name.Digest) error {
	a := attest.New(signer, client)
	for _, at := range []struct {
		typ, what string
		data      []byte
	}{{"cyclonedx", "CycloneDX SBOM", demoSBOM}, {"vuln", "Trivy scan report", demoScan}} {
		out, err := a.AttestImage(ctx, app.String(), attest.Request{Type: at.typ, Predicate: at.data})
		if err != nil {
			return err
		}
		t.step("Attested a %s (--type %s)", at.what, at.typ)
		for _, e := range out[0].Log {
			t.detail("logged at index %d", e.Index)
		}
		t.detail("predicate type %s", out[0].PredicateType)
	}
	return nil
}

// checkAttestations verifies a condition on each attestation.
func (t *tour) checkAttestations(ctx context.Context, v *verify.Verifier, app name.Digest) error {
	checks := []struct {
		typ, cond string
		pass      bool
	}{
		{attest.PredicateCycloneDX, `size(predicate.components) > 0`, true},
		{attest.PredicateVuln, `predicate.scanner.result.summary.fixable.critical == 0`, false},
	}
	for _, c := range checks {
		cond, err := verify.CompileConditionFor(c.typ, c.cond)
		if err != nil {
			return err
		}
		_, err = v.VerifyAttestations(ctx, app.String(), verify.AttestationRequest{PredicateType: c.typ, Condition: cond, TransparencyLog: verify.TlogRequired})
		switch {
		case c.pass && err == nil:
			t.step("Verified the SBOM attestation with the condition %s → PASS", c.cond)
		case !c.pass && errors.Is(err, verify.ErrConditionFalse):
			t.step("Verified the scan attestation with the condition %s", c.cond)
			t.detail("✗ REFUSED: the signature is good, but the scan found a critical vulnerability with a fix available (exit code 4)")
		default:
			return fmt.Errorf("quickstart: attestation check %q did not behave: %v", c.cond, err)
		}
	}
	return nil
}
