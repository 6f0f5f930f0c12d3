package verify

import (
	"fmt"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// checkSignedRepository refuses a verified signature whose payload names
// an image outside want (the origin repository a mirror copies): a
// signature made for another origin's image of the same digest must not
// count under this origin's rule. A name that cannot be read is refused
// too; a payload naming no image is not refused for it.
func checkSignedRepository(sig *Signature, want string) {
	if sig == nil || sig.err != nil || want == "" || sig.SignedName == "" {
		return
	}
	got, err := signedRepository(sig.SignedName)
	switch {
	case err != nil:
		sig.fail("repository", fmt.Errorf("%w: the signed name %q is not an image reference, so it cannot be checked against %s", ErrRepositoryMismatch, sig.SignedName, want))
	case got != want:
		sig.fail("repository", fmt.Errorf("%w: signed for %s, but this mirror copies %s; only signatures for the origin count here", ErrRepositoryMismatch, got, want))
	default:
		sig.check("repository", Pass, "signed for "+got+", the mirror's origin")
	}
}

func signedRepository(signedName string) (string, error) {
	r, err := oci.ParseReference(signedName)
	if err != nil {
		return "", err
	}
	return policy.NormalizeRepository(r.Context().Name())
}
