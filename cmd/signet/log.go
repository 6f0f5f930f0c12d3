package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/keys"
	"github.com/signet-dev/signet/tlog"
)

func newLogCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Run and check transparency logs",
	}
	cmd.AddCommand(newLogServeCmd(s), newLogInfoCmd(s), newLogVerifyCmd(s))
	return cmd
}

func defaultLogDir() string { return filepath.Join(signetHome(), "log") }

func newLogInfoCmd(s *streams) *cobra.Command {
	var dir, output string
	var keyOnly bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Print the embedded log's origin, URL, size, log ID and public key",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			info, err := tlog.LoadInfo(dir)
			if err != nil {
				return err
			}
			pub, err := tlog.PublicKeyFromDir(dir)
			if err != nil {
				return err
			}
			li := tlog.LogInfo{URL: info.URL, PublicKey: pub, APIVersion: 2, Origin: info.Origin}
			id, err := li.ID()
			if err != nil {
				return err
			}
			pemBytes, err := keys.PublicKeyPEM(pub)
			if err != nil {
				return err
			}
			var size uint64
			if raw, err := latestCheckpoint(cmd.Context(), dir, info.URL); err == nil {
				v, _ := signature.LoadVerifier(pub.(crypto.PublicKey), crypto.SHA256)
				if cv, err := tlog.NewCheckpointVerifier(info.Origin, v); err == nil {
					if cp, err := cv.Parse(raw); err == nil {
						size = cp.Size
					}
				}
			}
			if keyOnly {
				_, err := s.out.Write(pemBytes)
				return err
			}
			out := map[string]any{"origin": info.Origin, "url": info.URL, "size": size, "logId": fmt.Sprintf("%x", id), "publicKey": string(pemBytes)}
			if output == "json" {
				return printJSON(s, out)
			}
			fmt.Fprintf(s.out, "origin:  %s\nurl:     %s\nsize:    %s\nlog ID:  %x\n%s", info.Origin, info.URL, count(size, "entry", "entries"), id, pemBytes)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultLogDir(), "log state directory")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&keyOnly, "public-key", false, "print only the log's public key (PEM), e.g. for log verify --public-key: signet log info --public-key > log.pub")
	return cmd
}

func newLogVerifyCmd(s *streams) *cobra.Command {
	var url, pubPath, origin, state string
	cmd := &cobra.Command{
		Use:   "verify --url URL --public-key KEY --state FILE",
		Short: "Check that a log only ever grew since the checkpoint you last saw",
		Long: `Fetch the log's current checkpoint, check its signature, and prove it extends
the checkpoint remembered in --state (a consistency proof over the log's tiles).
On success the new checkpoint is remembered. A log that forked or rewrote its
history is reported with both signed checkpoints as evidence (exit code 4).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" || pubPath == "" || state == "" {
				return usageError{errors.New("--url, --public-key and --state are required")}
			}
			b, err := os.ReadFile(pubPath)
			if err != nil {
				return fmt.Errorf("reading the log's public key (--public-key): %w", err)
			}
			pub, err := keys.ParsePublicKey(b)
			if err != nil {
				return fmt.Errorf("the log's public key %s: %w", pubPath, err)
			}
			if origin == "" {
				origin, err = (tlog.LogInfo{URL: url}).OriginName()
				if err != nil {
					return usageError{err}
				}
			}
			v, err := keys.Verifier(pub)
			if err != nil {
				return err
			}
			cv, err := tlog.NewCheckpointVerifier(origin, v)
			if err != nil {
				return err
			}
			tiles, err := tlog.NewHTTPTiles(url, http.DefaultClient)
			if err != nil {
				return err
			}
			latest, err := tiles.Checkpoint(cmd.Context())
			if err != nil {
				return unavailableError{fmt.Errorf("fetching checkpoint from %s: %w", url, err)}
			}
			cp, err := cv.Parse(latest)
			if errors.Is(err, tlog.ErrNotSignedByKey) {
				return fmt.Errorf("%w\nIs %s this log's key? For Signet's own log, signet log info --public-key prints it", err, pubPath)
			}
			if err != nil {
				return err
			}
			old, err := os.ReadFile(state)
			switch {
			case errors.Is(err, os.ErrNotExist):
				fmt.Fprintf(s.out, "First checkpoint seen: size %d. Remembered in %s.\n", cp.Size, state)
			case err != nil:
				return err
			default:
				if err := consistent(cmd.Context(), cv, tiles, old, latest); err != nil {
					fmt.Fprintln(s.err, err)
					return reported{err}
				}
				oldCp, _ := cv.Parse(old)
				if oldCp.Size == cp.Size {
					fmt.Fprintf(s.out, "Consistent: the log still has %s, with the same history, as at the checkpoint remembered in %s.\n", count(cp.Size, "entry", "entries"), state)
				} else {
					fmt.Fprintf(s.out, "Consistent: the log grew from %d to %s without rewriting history.\n", oldCp.Size, count(cp.Size, "entry", "entries"))
				}
			}
			return os.WriteFile(state, latest, 0o644)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "log URL (its /checkpoint and /tile/ are read)")
	cmd.Flags().StringVar(&pubPath, "public-key", "", "the log's public key (PEM)")
	cmd.Flags().StringVar(&origin, "origin", "", "checkpoint origin (default: the URL's host)")
	cmd.Flags().StringVar(&state, "state", "", "file remembering the last checkpoint seen")
	return cmd
}

// latestCheckpoint reads the checkpoint from a POSIX log's directory or,
// for a log kept in a database, from the running log at url.
func latestCheckpoint(ctx context.Context, dir, url string) ([]byte, error) {
	raw, err := tlog.ReadCheckpointFile(dir)
	if !errors.Is(err, os.ErrNotExist) || url == "" {
		return raw, err
	}
	tiles, err := tlog.NewHTTPTiles(url, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	return tiles.Checkpoint(ctx)
}

// consistent checks that the log's latest checkpoint extends the old one,
// fetching the proof's tiles. A failure while tiles could not be fetched is
// the log's service failing (exit 5), not evidence against its history.
func consistent(ctx context.Context, cv *tlog.CheckpointVerifier, tiles *tlog.HTTPTiles, old, latest []byte) error {
	var fetchFailed atomic.Bool
	fetch := func(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
		b, err := tiles.Tile(ctx, level, index, p)
		if err != nil {
			fetchFailed.Store(true)
		}
		return b, err
	}
	err := cv.CheckConsistency(ctx, old, latest, fetch)
	if err != nil && fetchFailed.Load() && !errors.Is(err, tlog.ErrInconsistent) {
		return unavailableError{err}
	}
	return err
}
