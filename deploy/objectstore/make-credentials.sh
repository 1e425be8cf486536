#!/bin/sh
# Makes the object store's key pair for docker-compose.yml, in the two forms
# it is read in: deploy/secrets/blob_credentials (AWS shared credentials: the
# server and user services and the bucket job) and
# deploy/secrets/objectstore_identities.json (the SeaweedFS identity that
# accepts it). Refuses to overwrite either.
set -eu
dir=${1:-deploy/secrets}
creds=$dir/blob_credentials
ids=$dir/objectstore_identities.json
for f in "$creds" "$ids"; do
	if [ -e "$f" ]; then
		echo "$f exists; remove it first to make a new key pair" >&2
		exit 1
	fi
done
umask 077
key=accord$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
secret=$(od -An -N30 -tx1 /dev/urandom | tr -d ' \n')
cat >"$creds" <<CREDS
[default]
aws_access_key_id = $key
aws_secret_access_key = $secret
CREDS
cat >"$ids" <<IDS
{
  "identities": [
    {
      "name": "accord",
      "credentials": [{"accessKey": "$key", "secretKey": "$secret"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
IDS
# The containers run as non-root users that must read them.
chmod 0644 "$creds" "$ids"
echo "wrote $creds and $ids"
