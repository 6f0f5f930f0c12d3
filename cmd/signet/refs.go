package main

import (
	"errors"
	"fmt"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/policy"
)

// checkReferences refuses, before anything is read or fetched, an image
// argument that is not a valid reference: a usage error (exit 2) in every
// command, whatever else is wrong.
func checkReferences(c *oci.Client, images ...string) error {
	for _, img := range images {
		if _, err := c.ParseReference(img); err != nil {
			// The reason names only the wrong part: say which argument once.
			return usageError{fmt.Errorf("%s: %w", img, err)}
		}
	}
	return nil
}

// checkPolicyReferences is checkReferences for images judged by a policy:
// each must also have the one canonical spelling rules are matched against.
func checkPolicyReferences(c *oci.Client, images ...string) error {
	for _, img := range images {
		ref, err := c.ParseReference(img)
		if err == nil {
			_, err = policy.NormalizeReference(ref.Name())
		}
		if err == nil && oci.IsLayoutReference(img) && ref.Context().RegistryStr() == oci.LayoutRegistry {
			err = errors.New("an image in an OCI layout has no repository for the policy's rules to match; name the repository it is a copy of with --layout-repository REGISTRY/REPOSITORY")
		}
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", img, err)}
		}
	}
	return nil
}
