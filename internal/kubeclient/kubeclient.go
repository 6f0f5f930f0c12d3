// Package kubeclient finds the Kubernetes API server the way kubectl does,
// for the commands that read a cluster (admission serve's policy source,
// fleet check): an explicit kubeconfig file, else $KUBECONFIG, else
// ~/.kube/config, else the in-cluster service account.
package kubeclient

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options select a cluster; the zero value means kubectl's defaults.
type Options struct {
	// Kubeconfig is a kubeconfig file; "" uses $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context; "" uses the current one.
	Context string
}

// Config returns the REST configuration for o. Inside a Pod, with no
// kubeconfig named or found, it uses the Pod's service account.
func Config(o Options, userAgent string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		if _, err := os.Stat(o.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s cannot be read: %w", o.Kubeconfig, errors.Unwrap(err))
		}
		rules.ExplicitPath = o.Kubeconfig
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			if in, inErr := rest.InClusterConfig(); inErr == nil {
				in.UserAgent = userAgent
				return in, nil
			}
			return nil, errors.New("no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or write ~/.kube/config (inside a Pod, the service account is used)")
		}
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg.UserAgent = userAgent
	return cfg, nil
}
