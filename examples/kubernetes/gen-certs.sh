#!/usr/bin/env bash
# Make a private CA and a serving certificate for the webhook's Service, with
# openssl, into DIR (default ./certs):
#   ca.crt ca.key tls.crt tls.key
# With --apply, also create the signet-webhook-tls Secret and write the CA
# into the webhook configurations' caBundle (needs kubectl and a cluster).
# Re-run before tls.crt expires (--days, default 365); the webhook picks up
# the renewed Secret without a restart. The CA key never leaves DIR: keep it
# somewhere safe, or delete it and make a new CA next time.
set -euo pipefail

namespace=signet-system
service=signet-webhook
dir=./certs
days=365
apply=false
while [ $# -gt 0 ]; do
	case "$1" in
	--namespace) namespace=$2; shift 2 ;;
	--service) service=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--apply) apply=true; shift ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done

command -v openssl >/dev/null || { echo "gen-certs.sh needs openssl" >&2; exit 1; }
mkdir -p "$dir"
umask 077
host="$service.$namespace.svc"

if [ ! -f "$dir/ca.key" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 \
		-subj "/CN=$service-ca" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$dir/tls.key" -out "$dir/tls.csr" -subj "/CN=$host" 2>/dev/null
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
	-out "$dir/tls.crt" -days "$days" \
	-extfile <(printf 'subjectAltName=DNS:%s,DNS:%s.cluster.local\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$host" "$host") 2>/dev/null
rm -f "$dir/tls.csr"
chmod 0644 "$dir/ca.crt" "$dir/tls.crt"
echo "wrote $dir/ca.crt and $dir/tls.crt for DNS:$host (key files 0600)"

if $apply; then
	kubectl -n "$namespace" create secret tls "$service-tls" --cert "$dir/tls.crt" --key "$dir/tls.key" \
		--dry-run=client -o yaml | kubectl apply -f -
	ca=$(base64 < "$dir/ca.crt" | tr -d '\n')
	for kind in mutatingwebhookconfiguration validatingwebhookconfiguration; do
		kubectl patch "$kind" signet --type=json \
			-p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]"
	done
	# With policy resources (policy-crds/), their validating webhook too.
	if kubectl get validatingwebhookconfiguration signet-policies >/dev/null 2>&1; then
		kubectl patch validatingwebhookconfiguration signet-policies --type=json \
			-p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$ca\"}]"
	fi
	echo "Secret $namespace/$service-tls applied; caBundle set on the webhook configurations"
fi
