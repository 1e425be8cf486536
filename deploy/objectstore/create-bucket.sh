#!/bin/sh
# Run once by the objectstore-init job of docker-compose.yml: creates the
# bucket ACCORD_BLOB_URL names on the endpoint it names, or finds it there,
# and exits 0; any other outcome exits non-zero and the services that need
# the bucket do not start. Credentials: AWS_SHARED_CREDENTIALS_FILE.
set -eu

url=${ACCORD_BLOB_URL:?ACCORD_BLOB_URL is not set}
case $url in
s3://*) ;;
*) echo "ACCORD_BLOB_URL is not an s3:// URL: $url" >&2; exit 1 ;;
esac
rest=${url#s3://}
bucket=${rest%%\?*}
query=${rest#*\?}
param() {
	printf '%s\n' "$query" | tr '&' '\n' | sed -n "s/^$1=//p" | head -n 1
}
endpoint=$(param endpoint)
region=$(param region)
export AWS_REGION=${region:-us-east-1}
set -- --endpoint-url "${endpoint:?ACCORD_BLOB_URL names no endpoint}"

# The store may still be opening its volume: a few tries.
tries=0
until aws "$@" s3api list-buckets >/dev/null; do
	tries=$((tries + 1))
	if [ "$tries" -ge 30 ]; then
		echo "the object store at $endpoint does not answer" >&2
		exit 1
	fi
	sleep 2
done
if aws "$@" s3api head-bucket --bucket "$bucket" 2>/dev/null; then
	echo "bucket $bucket is there"
	exit 0
fi
aws "$@" s3api create-bucket --bucket "$bucket"
aws "$@" s3api head-bucket --bucket "$bucket"
echo "bucket $bucket created"
