// The API server's own bounds on a request, which Uplink's hops must not be
// tighter than (docs/kubectl.md, "Limits", lists every hop).

/**
 * Request line and headers the API server reads: `MaxHeaderBytes: 1 << 20`
 * on its http.Server (k8s.io/apiserver pkg/server/secure_serving.go), to
 * which Go's net/http adds 4096 bytes of slack (initialReadLimitSize in
 * net/http/server.go); beyond it Go answers 431. Node counts a little less
 * of the same bytes (the target, header names and values, without the
 * separators), so with this as its `maxHeaderSize` it takes all Go takes.
 */
export const KUBE_MAX_HEAD_BYTES = (1 << 20) + 4096;
