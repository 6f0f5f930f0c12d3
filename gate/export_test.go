package gate

import (
	"context"
	"fmt"
	"time"
)

// CrashBeforeRecording leaves state as a replica that died while writing a
// summary: the push of repo@digest (event id) queued and claimed by the
// dead replica until until, its verdict recorded as passed at at, with the
// summary of PASSED claimed by its job — the summary itself attached to the
// image or not, as the test chooses.
func CrashBeforeRecording(state, id, repo, digest, tag string, at, until time.Time) error {
	return CrashBeforeSummary(state, id, repo, digest, tag, StatePassed, at, until)
}

// CrashBeforeSummary is CrashBeforeRecording with the verdict recorded as
// settled in state (passed, or failed or unverified: the grace period over
// at at), and the summary of its result claimed.
func CrashBeforeSummary(state, id, repo, digest, tag, settled string, at, until time.Time) error {
	ctx := context.Background()
	st, err := openStore(ctx, state)
	if err != nil {
		return err
	}
	defer st.close()
	j := &job{ID: id, Repository: repo, Digest: digest, Tag: tag, MediaType: "application/vnd.oci.image.manifest.v1+json", Received: at}
	if ok, err := st.accept(ctx, j, 100); !ok || err != nil {
		return fmt.Errorf("queueing %s: %v %w", id, ok, err)
	}
	dead := hold{Owner: "dead-replica", Until: until}
	js, err := st.claim(ctx, dead, 1, at)
	if err != nil || len(js) != 1 {
		return fmt.Errorf("claiming %s: %v %w", id, js, err)
	}
	_, err = st.updateHeld(ctx, js[0], dead, repo, digest, func(r *Record) bool {
		r.Pushed, r.Deadline, r.Updated, r.State, r.Checks, r.Tags = at, at.Add(time.Minute), at, settled, 1, []string{tag}
		if settled != StatePassed {
			r.Deadline = at
		}
		r.claimSummary(id, vsaResult(settled), at)
		return false
	})
	return err
}
