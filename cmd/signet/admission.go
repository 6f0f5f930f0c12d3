package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/admission"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func newAdmissionCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "admission", Short: "Kubernetes admission webhook: verify what workloads run, pin tags to digests"}
	cmd.AddCommand(newAdmissionServeCmd(s), newAdmissionReviewCmd(s))
	return cmd
}

// admissionOptions are the flags serve and review share.
type admissionOptions struct {
	reg     registryOptions
	trust   trustOptions
	polFile string
	budget  time.Duration
}

func (o *admissionOptions) addFlags(cmd *cobra.Command) {
	o.reg.addFlags(cmd)
	o.trust.addFlags(cmd)
	cmd.Flags().StringVar(&o.polFile, "policy", "", "policy document (required)")
	cmd.Flags().DurationVar(&o.budget, "budget", 8*time.Second, "time a review may take before it is denied (keep it under the webhook's timeoutSeconds)")
}

func (o *admissionOptions) webhook(s *streams, log *slog.Logger) (*admission.Webhook, error) {
	if o.polFile == "" {
		return nil, usageError{errors.New("--policy is required")}
	}
	c, err := policy.Load(o.polFile, keyLoader(s))
	if err != nil {
		return nil, usageError{err}
	}
	vopts, _, err := o.trust.verifierOptions()
	if err != nil {
		return nil, err
	}
	eopts := []verify.EngineOption{verify.WithCache(10_000, 5*time.Minute, 30*time.Second)}
	if len(vopts) > 0 {
		eopts = append(eopts, verify.WithEngineTrustedRoot(o.trust.root))
	}
	eng, err := verify.NewEngine(o.reg.client(), c, eopts...)
	if err != nil {
		return nil, err
	}
	return admission.New(eng, admission.WithBudget(o.budget), admission.WithLogger(log)), nil
}

func newAdmissionServeCmd(s *streams) *cobra.Command {
	var o admissionOptions
	var addr, cert, key string
	cmd := &cobra.Command{
		Use:   "serve --policy P --tls-cert C --tls-key K [--addr :8443]",
		Short: "Serve the validating (/validate) and mutating (/mutate) webhook over HTTPS",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cert == "" || key == "" {
				return usageError{errors.New("--tls-cert and --tls-key are required (the API server only calls webhooks over HTTPS)")}
			}
			w, err := o.webhook(s, slog.New(slog.NewJSONHandler(s.err, nil)))
			if err != nil {
				return err
			}
			pair, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return fmt.Errorf("loading the TLS certificate: %w", err)
			}
			srv := &http.Server{Addr: addr, Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second,
				TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			}()
			fmt.Fprintf(s.err, "Admission webhook on https://%s (/validate, /mutate, /healthz)\n", addr)
			if err := srv.ListenAndServeTLS("", ""); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&addr, "addr", ":8443", "address to listen on")
	cmd.Flags().StringVar(&cert, "tls-cert", "", "TLS certificate (PEM)")
	cmd.Flags().StringVar(&key, "tls-key", "", "TLS private key (PEM)")
	return cmd
}

func newAdmissionReviewCmd(s *streams) *cobra.Command {
	var o admissionOptions
	var mutate bool
	cmd := &cobra.Command{
		Use:   "review --policy P FILE",
		Short: "Answer an AdmissionReview, or a workload manifest (YAML or JSON), from a file — no cluster needed",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			w, err := o.webhook(s, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			data, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			req, err := requestFromFile(data)
			if err != nil {
				return usageError{err}
			}
			resp := w.Review(cmd.Context(), req, mutate)
			if err := printJSON(s, resp); err != nil {
				return err
			}
			if !resp.Allowed {
				fmt.Fprintln(s.err, "DENIED:", resp.Result.Message)
				return silentError{exitPolicyDenied}
			}
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&mutate, "mutate", true, "include the JSONPatch that pins tags to digests")
	return cmd
}

// requestFromFile reads an AdmissionReview or a plain manifest, YAML or JSON.
func requestFromFile(data []byte) (*admissionv1.AdmissionRequest, error) {
	if !strings.HasPrefix(strings.TrimSpace(string(data)), "{") {
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("parsing YAML: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("converting YAML: %w", err)
		}
		data = b
	}
	if review, err := admission.ParseReview(data); err == nil {
		return review.Request, nil
	}
	return admission.ReviewObject(data)
}
