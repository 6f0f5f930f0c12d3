package tlog

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signet-dev/signet/keys"
)

// ParseLogSpec parses a log description of the form cosign uses for
// `trusted-root create --rekor`:
//
//	url=http://127.0.0.1:3003,public-key=log.pub,api-version=2[,origin=HOST][,start-time=RFC3339][,operator=NAME]
//
// public-key is a PEM file. api-version defaults to 2.
func ParseLogSpec(spec string) (LogInfo, error) {
	li := LogInfo{APIVersion: 2}
	var keyPath string
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return LogInfo{}, fmt.Errorf("log spec %q: %q is not key=value", spec, part)
		}
		switch k {
		case "url":
			li.URL = strings.TrimSuffix(v, "/")
		case "public-key":
			keyPath = v
		case "api-version":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || (n != 1 && n != 2) {
				return LogInfo{}, fmt.Errorf("log spec %q: api-version must be 1 or 2", spec)
			}
			li.APIVersion = uint32(n)
		case "origin":
			li.Origin = v
		case "operator":
			li.Operator = v
		case "start-time":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return LogInfo{}, fmt.Errorf("log spec %q: start-time: %w", spec, err)
			}
			li.Start = t
		default:
			return LogInfo{}, fmt.Errorf("log spec %q: unknown key %q (want url, public-key, api-version, origin, start-time, operator)", spec, k)
		}
	}
	if li.URL == "" {
		return LogInfo{}, fmt.Errorf("log spec %q: url= is required", spec)
	}
	if keyPath != "" {
		b, err := os.ReadFile(keyPath)
		if err != nil {
			return LogInfo{}, fmt.Errorf("log spec %q: %w", spec, err)
		}
		if li.PublicKey, err = keys.ParsePublicKey(b); err != nil {
			return LogInfo{}, fmt.Errorf("log spec %q: %w", spec, err)
		}
	}
	return li, nil
}
