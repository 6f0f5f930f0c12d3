package main

import (
	"fmt"
	"path/filepath"
	"slices"
)

// attachedCondition measures, in the "attestation rss" step, the peak RSS of
// verify-attestation with a condition over the predicate of an attached
// attestation of mb MB (verify is the step's command line for it, image
// last): the statement is over the 16 MiB a condition sees whole, so the
// condition reads the predicate's small members and its summary, streamed.
func (b *bench) attachedCondition(section string, mb int, verify []string, detached bool) error {
	if detached {
		return nil
	}
	args := slices.Clone(verify[:len(verify)-1])
	args = append(args, "--condition", `predicate.specVersion == "1.5" && summary.counts.components > 0`, verify[len(verify)-1])
	_, rss, err := b.timed(filepath.Join(b.bin, "signet"), args...)
	if err != nil {
		return err
	}
	b.add(section, fmt.Sprintf("signet verify-attestation, %d MB SBOM attached, condition over predicate", mb), "MiB", []float64{mib(rss)}, "")
	return nil
}
