//go:build !signet_split || !unix

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/gate"
)

// backfillOptions are the flags `gate backfill` and `gate serve --backfill` share.
type backfillOptions struct {
	repositories []string
	workers      int
}

func (o *backfillOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.repositories, "repository", nil, "backfill only repositories matching this glob (team/*, app; repeatable; default every repository)")
	cmd.Flags().IntVar(&o.workers, "max-workers", 8, "registry requests (tag lists, tag resolutions) at once during the backfill")
}

func (o *backfillOptions) config() (gate.BackfillConfig, error) {
	if o.workers < 1 {
		return gate.BackfillConfig{}, usageError{fmt.Errorf("--max-workers %d: want at least 1", o.workers)}
	}
	for _, p := range o.repositories {
		if _, err := filepath.Match(p, ""); err != nil {
			return gate.BackfillConfig{}, usageError{fmt.Errorf("--repository %q: %w", p, err)}
		}
	}
	return gate.BackfillConfig{Repositories: o.repositories, Workers: o.workers}, nil
}

func newGateBackfillCmd(s *streams) *cobra.Command {
	var (
		reg      registryOptions
		bf       backfillOptions
		registry string
		stateDir string
		maxQueue int
		output   string
	)
	cmd := &cobra.Command{
		Use:   "backfill --registry HOST[:PORT] [--state DIR] [--repository GLOB]...",
		Short: "Queue every image already in the registry that the gate has not judged",
		Long: `Queue, in the gate's state, every image already in the registry that the
gate has neither queued nor judged: images pushed before the gate started,
or while it was down. The registry's catalogue (/v2/_catalog) and each
repository's tags are read page by page; each tag is resolved to its digest,
and signature, attestation, SBOM and referrers-fallback tags
(sha256-<hex>[.sig|.att|.sbom]) are left out. The backfill only queues: the
gate's workers judge, as they judge a pushed image.

Each image is queued under the event id backfill:REPOSITORY@DIGEST, in the
same transaction as a notification, so running the backfill again (after a
crash, or to catch up) queues only what is still missing; no cursor is
kept. A gate running on the same --state (directory or PostgreSQL URL)
claims what this command queues within a second; "gate serve --backfill"
backfills from inside the gate. Progress goes to stderr; the summary to stdout.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			if registry == "" {
				return usageError{errors.New("--registry is required")}
			}
			cfg, err := bf.config()
			if err != nil {
				return err
			}
			if stateDir == "" {
				stateDir = filepath.Join(signetHome(), "gate")
			}
			cfg.Registry, cfg.Client, cfg.MaxQueue = gateRegistry(registry), reg.client(), maxQueue
			cfg.Progress = backfillProgress(s)
			res, err := gate.Backfill(cmd.Context(), stateDir, cfg)
			if err != nil {
				if res != nil {
					fmt.Fprintln(s.err, backfillSummary(res))
				}
				return fmt.Errorf("backfilling the gate's queue from %s: %w", cfg.Registry, err)
			}
			if output == "json" {
				return printJSON(s, res)
			}
			fmt.Fprintln(s.out, backfillSummary(res))
			return nil
		},
	}
	reg.addFlags(cmd)
	bf.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&registry, "registry", "", "the registry, host[:port] as its images are named (required)")
	f.StringVar(&stateDir, "state", "", "the gate's database: a directory (SQLite, DIR/gate.db) or postgres://USER@HOST:PORT/DATABASE (default $SIGNET_HOME/gate)")
	f.IntVar(&maxQueue, "max-queue", 10000, "stop once this many jobs are queued (as gate serve --max-queue); run again when the gate has caught up")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// gateRegistry is the registry as images in it are named.
func gateRegistry(r string) string {
	return strings.TrimPrefix(strings.TrimPrefix(r, "http://"), "https://")
}

// backfillProgress prints progress to stderr at most once a second, and
// when the walk is done.
func backfillProgress(s *streams) func(gate.BackfillProgress) {
	var mu sync.Mutex
	var last time.Time
	return func(p gate.BackfillProgress) {
		mu.Lock()
		defer mu.Unlock()
		done := p.RepositoriesDone == p.Repositories && p.TagsDone == p.Tags
		if now := time.Now(); now.Sub(last) >= time.Second || done && p.Repositories > 0 {
			last = now
			fmt.Fprintf(s.err, "backfill: repositories %d/%d, tags %d/%d\n", p.RepositoriesDone, p.Repositories, p.TagsDone, p.Tags)
		}
	}
}

func backfillSummary(r *gate.BackfillResult) string {
	rate := 0.0
	if r.Seconds > 0 {
		rate = float64(r.Tags) / r.Seconds
	}
	return fmt.Sprintf("backfill of %s: %s, %s (%s skipped), %s: %d queued, %d already queued or judged (%.1fs, %.0f tags/s)",
		r.Registry, count(r.Repositories, "repository", "repositories"), count(r.Tags, "tag", "tags"),
		count(r.SkippedTags, "signature/attestation tag", "signature/attestation tags"), count(r.Images, "image", "images"),
		r.Queued, r.Known, r.Seconds, rate)
}

// serveBackfill runs a backfill into a serving gate and logs its outcome.
func serveBackfill(ctx context.Context, g *gate.Gate, cfg gate.BackfillConfig, log *slog.Logger) {
	res, err := g.Backfill(ctx, cfg)
	if err != nil {
		log.Error("backfill stopped (run it again: what it queued stays queued)", "error", err.Error())
		return
	}
	log.Info("backfill done", "repositories", res.Repositories, "tags", res.Tags, "images", res.Images, "queued", res.Queued, "known", res.Known, "seconds", res.Seconds)
}
