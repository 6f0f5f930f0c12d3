//go:build !signet_split || !unix

package main

// signet log serve runs a transparency log: Tessera with its POSIX and
// MySQL storage and the de-duplication index's Badger database. A split
// build (serverroles_split.go) hands it to signet-server, like quickstart,
// so that no other command initialises those packages.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/tlog"
	"github.com/signet-dev/signet/tlog/logserver"
)

func newLogServeCmd(s *streams) *cobra.Command {
	var addr, dir, origin, storage, publicURL string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: logServeShort,
		Long: `Serve a transparency log on Tessera with POSIX storage in --dir, or with
--storage mysql://USER[:PASSWORD]@HOST:PORT/DATABASE in a MySQL or MariaDB
database (the database must exist; its tables are made on first start; add
?tls=true to encrypt the connection and verify the server's certificate). Several
'log serve' processes with the same key (--dir/log.key) on one database are
front-ends of one log. $SIGNET_LOG_STORAGE is read when --storage is not given,
to keep a password off the command line.

Every entry is de-duplicated: submitting it again, also after a restart,
returns the entry already in the log (the index is in --dir/dedup on POSIX, in
the database on MySQL; see docs/log.md for backups).

It accepts Rekor v2's write API (POST /api/v2/log/entries, hashedrekord
v0.0.2; entries whose signature does not verify are refused) and serves its
signed checkpoint and tiles read-only (GET /checkpoint, /tile/...), so Rekor v2
clients such as cosign v3 can log to it through a signing config.

Its Ed25519 signing key is made on first start, in --dir/log.key (mode 0600).
On first start it also writes $SIGNET_HOME/signing_config.json and
$SIGNET_HOME/trusted_root.json pointing at itself, unless they exist, so
'signet sign' and 'signet verify' use it with no flags. They stay after the
log stops: signing then fails until the log runs again, --no-tlog is given,
or 'signet config unset signing-config trusted-root' removes them.
'signet config' shows them and every other file and variable in effect.`,
		Example: `  # POSIX files in ~/.signet/log
  signet log serve

  # Tree and de-duplication index in MariaDB; the key stays in --dir
  SIGNET_LOG_STORAGE=mysql://tlog:PASSWORD@127.0.0.1:3306/tlog signet log serve --dir /srv/log-key

  # Front-ends on several machines behind https://log.example.com (same key, same database)
  SIGNET_LOG_STORAGE='mysql://tlog:PASSWORD@db.internal:3306/tlog?tls=true' signet log serve --dir /srv/log-key --addr 10.0.0.5:3003 --url https://log.example.com`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if storage == "" {
				storage = os.Getenv("SIGNET_LOG_STORAGE")
			}
			opts, where, err := logStorage(storage, dir)
			if err != nil {
				return err
			}
			ln, host, err := logserver.ListenOrigin(addr)
			if err != nil {
				return err
			}
			if publicURL != "" {
				u, err := url.Parse(publicURL)
				if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
					ln.Close()
					return usageError{fmt.Errorf("--url %q: want the http(s) URL clients reach the log at, e.g. https://log.example.com", publicURL)}
				}
				host = u.Hostname()
			}
			if origin == "" {
				origin = host
			}
			l, err := logserver.Open(cmd.Context(), dir, origin, opts...)
			if err != nil {
				ln.Close()
				if errors.Is(err, logserver.ErrStorageUnreachable) {
					return unavailableError{err}
				}
				return err
			}
			defer l.Close(context.Background())
			srv := l.Serve(ln)
			self := srv.URL
			if publicURL != "" {
				self = strings.TrimSuffix(publicURL, "/")
			}
			if err := tlog.SaveInfo(dir, tlog.Info{Origin: origin, URL: self}); err != nil {
				srv.Close()
				return err
			}
			if err := writeTrustFiles(s, l.Self(self)); err != nil {
				srv.Close()
				return err
			}
			fmt.Fprintf(s.out, "Transparency log %q listening on %s (%s). Ctrl-C to stop.\n", origin, srv.URL, where)
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			return srv.Wait()
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:3003", "address to listen on")
	cmd.Flags().StringVar(&dir, "dir", defaultLogDir(), "log state directory (key, tiles, checkpoint)")
	cmd.Flags().StringVar(&origin, "origin", "", "checkpoint origin (default: the listen host; verifiers expect the host of the log URL)")
	cmd.Flags().StringVar(&publicURL, "url", "", "the URL clients reach the log at, if not http://ADDR (e.g. a load balancer before several front-ends); the origin defaults to its host")
	cmd.Flags().StringVar(&storage, "storage", "", "where the tree is kept: mysql://USER[:PASSWORD]@HOST:PORT/DATABASE[?tls=true] (default: POSIX files in --dir; also $SIGNET_LOG_STORAGE)")
	return cmd
}

// logStorage turns --storage into Open options and a description for
// people, which never shows a password.
func logStorage(storage, dir string) ([]logserver.LogOption, string, error) {
	if storage == "" {
		return nil, "state in " + dir, nil
	}
	if !strings.HasPrefix(storage, "mysql://") {
		return nil, "", usageError{errors.New("--storage must be mysql://USER[:PASSWORD]@HOST:PORT/DATABASE, or left out for POSIX files in --dir")}
	}
	t, err := logserver.ParseMySQL(storage)
	if err != nil {
		return nil, "", usageError{err}
	}
	return []logserver.LogOption{logserver.WithMySQL(t)}, fmt.Sprintf("key in %s, tree in mysql %s", dir, t), nil
}

// writeTrustFiles writes the signing config and trusted root for a log into
// SIGNET_HOME, leaving existing files alone, and says what it did, what
// that changes and how to undo it.
func writeTrustFiles(s *streams, li tlog.LogInfo) error {
	home := signetHome()
	sc, err := tlog.SigningConfig(li)
	if err != nil {
		return err
	}
	tr, err := tlog.TrustedRoot(li)
	if err != nil {
		return err
	}
	files := []struct {
		name, unset, effect string
		v                   interface{ MarshalJSON() ([]byte, error) }
	}{
		{signingConfigFile, "signing-config", "'signet sign' and 'signet attest' now log to " + li.URL + " by default, also after this log stops", sc},
		{trustedRootFile, "trusted-root", "'signet verify' now trusts this log's entries", tr},
	}
	var wrote []string
	for _, f := range files {
		p := filepath.Join(home, f.name)
		if _, err := os.Stat(p); err == nil {
			if namesLog(p, li) {
				fmt.Fprintf(s.err, "Kept %s: it already names this log\n", p)
			} else {
				fmt.Fprintf(s.err, "Left %s as it is: it does not name this log; remove it (signet config unset %s) and start this log again to point it here\n", p, f.unset)
			}
			continue
		}
		if err := tlog.WriteJSON(p, f.v); err != nil {
			return err
		}
		fmt.Fprintf(s.err, "Wrote %s: %s\n", p, f.effect)
		wrote = append(wrote, f.unset)
	}
	if len(wrote) > 0 {
		fmt.Fprintf(s.err, "To undo: signet config unset %s (or delete the files); with the log stopped, sign with --no-tlog. 'signet config' shows every file and variable in effect.\n", strings.Join(wrote, " "))
	}
	return nil
}

// namesLog reports whether the signing config or trusted root at p names
// the log li: the signing config its URL, the trusted root its key.
func namesLog(p string, li tlog.LogInfo) bool {
	if filepath.Base(p) == signingConfigFile {
		sc, err := root.NewSigningConfigFromPath(p)
		if err != nil {
			return false
		}
		for _, svc := range sc.RekorLogURLs() {
			if svc.URL == li.URL {
				return true
			}
		}
		return false
	}
	tr, err := root.NewTrustedRootFromPath(p)
	id, idErr := li.ID()
	if err != nil || idErr != nil {
		return false
	}
	l, ok := tr.RekorLogs()[hex.EncodeToString(id)]
	return ok && l.BaseURL == li.URL
}
