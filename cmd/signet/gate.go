//go:build !signet_split || !unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/gate"
	"github.com/signet-dev/signet/internal/listen"
	"github.com/signet-dev/signet/verify"
)

func newGateCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "gate", Short: gateShort}
	cmd.AddCommand(newGateServeCmd(s), newGateStatusCmd(s), newGateBackfillCmd(s))
	return cmd
}

func newGateServeCmd(s *streams) *cobra.Command {
	var (
		reg       registryOptions
		trust     trustOptions
		signing   signingOptions
		polFile   string
		registry  string
		addr      string
		stateDir  string
		secretEnv string
		tokenEnv  string
		grace     time.Duration
		recheck   time.Duration
		lease     time.Duration
		workers   int
		maxQueue  int
		verifier  string
		keep      days
		bf        backfillOptions
		backfill  bool
		tb        bundleTrust
		tbEvery   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve --policy P --registry HOST[:PORT] --key K [--addr 127.0.0.1:8089]",
		Short: "Receive the registry's push notifications and verify every pushed image",
		Long: `Receive a distribution registry's notifications (its notifications.endpoints
webhook, POST /events) and verify every pushed image or index against the
policy. The registry must send the shared secret as "Authorization: Bearer
SECRET" (the secret comes from the environment variable --secret-env).

Signatures usually arrive seconds after the image: a pushed image stays
pending while it waits, is re-verified when a signature or attestation is
pushed for it, and counts as unverified once --grace passes without one.
Each settled verdict is signed with --key as a SLSA verification summary
and attached to the image: PASSED only when an enforce rule matched and
every check passed; FAILED for unverified and failing images (also under
warn and audit rules, which admission allows); none for images no rule
matches or whose warn/audit rule passed (state "allowed"). The gate always
verifies itself: the policy's receipts section is ignored here. Admission
accepts a PASSED summary as a receipt only when it runs the same policy
with the same keys (signet policy validate prints the digest), or lists the
gate policy's digest in receipts.policyDigests.

The gate keeps its state in a database: --state DIR is a SQLite database,
DIR/gate.db (WAL mode; back it up with "sqlite3 gate.db '.backup COPY'"
while it runs, or copy the directory while the gate is stopped);
--state postgres://USER@HOST:PORT/DATABASE is a PostgreSQL database (the
password in PGPASSWORD or the URL; messages show only user@host:port/db;
back it up with pg_dump). Several gates (replicas, behind one address) may
share one PostgreSQL database: they share the queue, each job is worked on by
one replica at a time, and a replica that dies leaves its jobs to the others
once their lease (--lease, default 2m) ends; one verification summary is
written per settled result. The schema is migrated on start. An accepted
event and its job are committed in one transaction before the registry is
answered, so a restart loses nothing and an event sent twice is one job; a
full queue, or a database that cannot be written, answers 503 and the
registry retries. A --state directory an older signet wrote
(records.json, seen.log, queue/) is imported into gate.db on the first start
and its files renamed NAME.imported. Every verdict is kept unless --keep is
set (e.g. --keep 90d): verdicts last updated longer ago than that are then
deleted, once an hour.
Also served: GET /status (pushes and verdicts, newest first;
?state=unverified&repository=team/app&limit=100&offset=0) and
/metrics (Prometheus). /status lists what is pushed where, so both answer
only with "Authorization: Bearer TOKEN": the status token from the environment
variable --status-token-env when it is set (it does not open /events; give
it to operators and Prometheus), otherwise the shared secret. /healthz
(the process answers) and /readyz (200 while the gate's state can be
written; 503 while its database is unreachable or read-only, the reason in
the log) are open. With --backfill the gate also queues every image already in the
registry that it has neither queued nor judged (as "signet gate backfill"
does; --repository and --max-workers narrow and bound it) and logs a
summary when done. See examples/registry-gate/.

--trust-bundle oci://REGISTRY/REPO:TAG (with --trust-bundle-root) takes the
policy, keys, trusted root and recall list from a signed trust bundle
(docs/trust-bundle.md), refreshed every --trust-bundle-refresh: a new bundle
decides the next push; a refused or unreadable one is logged and the
running bundle kept until its signed metadata expires, after which every
push is retried (transient), never accepted, until a bundle verifies again.`,
		Example: `  # one gate, its state in SQLite
  SIGNET_GATE_SECRET=… signet gate serve --policy policy.yaml --registry registry.example.com:5000 --key gate.key --state /var/lib/signet-gate

  # replicas sharing a PostgreSQL database (the password in PGPASSWORD)
  PGPASSWORD=… SIGNET_GATE_SECRET=… signet gate serve --policy policy.yaml --registry registry.example.com:5000 --key gate.key \
    --addr 0.0.0.0:8089 --state postgres://gate@db.example.com:5432/gate --lease 1m`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (polFile == "" && tb.ref == "") || registry == "" || signing.keyRef == "" {
				return usageError{errors.New("--policy, --registry and --key are required (with --trust-bundle, --policy is optional: the bundle has it)")}
			}
			if tb.ref != "" && tbEvery <= 0 {
				return usageError{errors.New("--trust-bundle-refresh must be positive")}
			}
			if lease < time.Second {
				return usageError{fmt.Errorf("--lease %s: want at least 1s (a live replica renews its leases every third of it)", lease)}
			}
			secret := os.Getenv(secretEnv)
			if secret == "" {
				return usageError{fmt.Errorf("set the shared secret in $%s (the registry sends it as Authorization: Bearer SECRET)", secretEnv)}
			}
			bcfg, err := bf.config()
			if err != nil {
				return err
			}
			client := reg.client()
			log := slog.New(slog.NewJSONHandler(s.err, nil))
			var dec gate.Decider
			var eng *verify.Engine
			var bundle *bundleEngines
			if tb.ref != "" {
				if bundle, err = gateBundle(cmd.Context(), s, client, log, &trust, &tb, polFile); err != nil {
					return err
				}
				dec, eng = bundle.swap, bundle.eng
			} else {
				if _, _, err := trust.verifierOptions(); err != nil {
					return err
				}
				if eng, err = policyEngine(s, client, &trust, polFile, verify.WithoutReceipts()); err != nil {
					return err
				}
				dec = eng
			}
			signer, err := signing.signer(cmd.Context(), s, client)
			if err != nil {
				return err
			}
			if stateDir == "" {
				stateDir = filepath.Join(signetHome(), "gate")
			}
			g, err := gate.New(gate.Config{Registry: gateRegistry(registry),
				Client: client, Decider: dec, Attester: attest.New(signer, client), Secret: secret, StatusToken: os.Getenv(tokenEnv), State: stateDir,
				Grace: grace, Recheck: recheck, Lease: lease, Workers: workers, MaxQueue: maxQueue, VerifierID: verifier,
				Keep: time.Duration(keep), PolicyName: eng.PolicyName(), PolicyHash: eng.PolicyHash(), Log: log, Metrics: gate.NewMetrics()})
			if err != nil {
				return err
			}
			ln, err := listen.TCP(addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- g.Run(ctx) }()
			if bundle != nil {
				go refreshBundle(ctx, tbEvery, bundle.swap, func() (admission.Decider, error) { return bundle.load(ctx) }, log)
			}
			if backfill {
				go serveBackfill(ctx, g, bcfg, log)
			}
			go func() {
				<-ctx.Done()
				sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
				defer c()
				srv.Shutdown(sctx)
			}()
			fmt.Fprintf(s.err, "Push gate on http://%s (POST /events, GET /status and /metrics with the status token, /healthz, /readyz); state in %s\n", ln.Addr(), gateStateName(stateDir))
			err = srv.Serve(ln)
			cancel()
			if rerr := <-done; rerr != nil {
				return rerr
			}
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		},
	}
	reg.addFlags(cmd)
	trust.addFlags(cmd)
	trust.addPredicateCapFlag(cmd)
	signing.addFlags(cmd)
	bf.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&backfill, "backfill", false, "also queue every image already in the registry that the gate has not judged (see gate backfill)")
	f.StringVar(&polFile, "policy", "", "policy every push is verified against (required; with --trust-bundle, the name of one of its policies)")
	tb.addFlags(cmd)
	f.DurationVar(&tbEvery, "trust-bundle-refresh", time.Minute, "with --trust-bundle: how often to refresh it (a new bundle decides the next push)")
	f.StringVar(&registry, "registry", "", "the registry, host[:port] as its images are named (required)")
	f.StringVar(&addr, "addr", "127.0.0.1:8089", "address to listen on")
	f.StringVar(&stateDir, "state", "", "the gate's database: a directory (SQLite, DIR/gate.db) or postgres://USER@HOST:PORT/DATABASE (default $SIGNET_HOME/gate)")
	f.DurationVar(&lease, "lease", 2*time.Minute, "how long a claimed job is a replica's before another may claim it (a dead replica's jobs wait this long)")
	f.Var(&keep, "keep", "delete verdicts last updated longer ago than this (e.g. 90d, 720h; default: keep every verdict)")
	f.StringVar(&secretEnv, "secret-env", "SIGNET_GATE_SECRET", "environment variable holding the shared secret")
	f.StringVar(&tokenEnv, "status-token-env", "SIGNET_GATE_STATUS_TOKEN", "environment variable holding the token GET /status and /metrics require (unset: the shared secret)")
	f.DurationVar(&grace, "grace", 2*time.Minute, "how long a pushed image may wait for its signatures before it counts as unverified")
	f.DurationVar(&recheck, "recheck", 0, "how often pending images past their grace period are settled (default grace/4)")
	f.IntVar(&workers, "workers", 4, "verifications at once")
	f.IntVar(&maxQueue, "max-queue", 10000, "queued events before the gate answers 503 (the registry then retries)")
	f.StringVar(&verifier, "verifier-id", "https://signet.dev/gate", "the verifier id written into the verification summaries")
	return cmd
}

// gateStateName is the gate's state as it may be printed: a directory, or a
// PostgreSQL URL without its password.
func gateStateName(state string) string {
	if strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://") {
		return gate.RedactURL(state)
	}
	return state
}

func newGateStatusCmd(s *streams) *cobra.Command {
	var url, state, repository, output, tokenEnv string
	var limit, offset int
	cmd := &cobra.Command{
		Use:   "status [--url http://127.0.0.1:8089] [--state unverified]",
		Short: "List recent pushes and their verdicts, unverified and failing ones first",
		Long: `List recent pushes and their verdicts, unverified and failing ones first.

The gate answers only with its status token: it is read from the environment
variable --token-env (default SIGNET_GATE_STATUS_TOKEN) or, when that is
empty, from SIGNET_GATE_SECRET (a gate without a status token takes its
shared secret).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output); err != nil {
				return err
			}
			u := strings.TrimSuffix(url, "/") + "/status"
			q := neturl.Values{}
			for k, v := range map[string]string{"state": state, "repository": repository} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			if offset > 0 {
				q.Set("offset", strconv.Itoa(offset))
			}
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			req, _ := http.NewRequestWithContext(cmd.Context(), http.MethodGet, u, nil)
			if token := gateStatusToken(tokenEnv); token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("asking the gate at %s: %w", url, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return fmt.Errorf("the gate at %s answered %s: set $%s to its status token (or $SIGNET_GATE_SECRET to its shared secret, when it has no status token)", url, resp.Status, tokenEnv)
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("the gate answered %s", resp.Status)
			}
			var st gate.Status
			if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
				return fmt.Errorf("reading the gate's status: %w", err)
			}
			if output == "json" {
				return printJSON(s, st)
			}
			printGateStatus(s, st)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:8089", "the gate's address")
	cmd.Flags().StringVar(&state, "state", "", "only pushes in this state: pending, passed, allowed, unverified, failed, error")
	cmd.Flags().StringVar(&repository, "repository", "", "only pushes to this repository (e.g. team/app)")
	cmd.Flags().IntVar(&limit, "limit", 0, "records on one page, newest push first (default 500, at most 1000)")
	cmd.Flags().IntVar(&offset, "offset", 0, "records to skip: the next page starts where the last one said")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&tokenEnv, "token-env", "SIGNET_GATE_STATUS_TOKEN", "environment variable holding the gate's status token (empty: $SIGNET_GATE_SECRET is sent)")
	return cmd
}

// gateStatusToken is the token `gate status` sends: $tokenEnv, or the
// shared secret when that is empty.
func gateStatusToken(tokenEnv string) string {
	if t := os.Getenv(tokenEnv); t != "" {
		return t
	}
	return os.Getenv("SIGNET_GATE_SECRET")
}

func printGateStatus(s *streams, st gate.Status) {
	fmt.Fprintf(s.out, "policy %s · queue %d · passed %d · allowed %d · pending %d · unverified %d · failed %d · error %d\n\n",
		st.Policy, st.Queue, st.Counts[gate.StatePassed], st.Counts[gate.StateAllowed], st.Counts[gate.StatePending], st.Counts[gate.StateUnverified],
		st.Counts[gate.StateFailed], st.Counts[gate.StateError])
	rank := map[string]int{gate.StateFailed: 0, gate.StateUnverified: 1, gate.StateError: 2, gate.StatePending: 3, gate.StateAllowed: 4, gate.StatePassed: 5}
	rs := st.Records
	// Problems first, then newest first (the order the gate sends).
	ordered := make([]gate.Record, 0, len(rs))
	for r := 0; r <= 5; r++ {
		for _, x := range rs {
			if rank[x.State] == r {
				ordered = append(ordered, x)
			}
		}
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tIMAGE\tPUSHED\tSUMMARY\tREASON")
	for _, r := range ordered {
		img := r.Repository + "@" + r.Digest[:min(len(r.Digest), 19)]
		if len(r.Tags) > 0 {
			img = r.Repository + ":" + strings.Join(r.Tags, ",") + "@" + r.Digest[:min(len(r.Digest), 19)]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.State, img, r.Pushed.Format(time.RFC3339), dash(r.VSAResult), dash(r.Reason))
	}
	tw.Flush()
	if st.Next > 0 {
		fmt.Fprintf(s.out, "\nmore: --offset %d\n", st.Next)
	}
}

// days is a duration flag that also takes whole days ("90d").
type days time.Duration

func (d *days) String() string {
	if *d == 0 {
		return "0"
	}
	if time.Duration(*d)%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(time.Duration(*d)/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(*d).String()
}

func (d *days) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return fmt.Errorf("%q: want whole days (90d) or a Go duration (720h)", s)
		}
		*d = days(time.Duration(v) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q: want whole days (90d) or a Go duration (720h)", s)
	}
	*d = days(v)
	return nil
}

func (d *days) Type() string { return "duration" }
