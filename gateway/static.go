package gateway

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/accordchat/accord/platform/peers"
)

// Cache policies of the web app's files.
const (
	// Files under /assets/ have content hashes in their names: they never
	// change, so browsers may keep them for a year without asking.
	cacheImmutable = "public, max-age=31536000, immutable"
	// Everything else (index.html above all) must be revalidated, so a new
	// deployment is picked up on the next load.
	cacheRevalidate = "no-cache"
)

const placeholderPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>Accord</h1>
<p>The web app is not built. Run <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>
(or set <code>ACCORD_WEB_DIR</code>).</p>
<p>The API is described at <a href="/api">/api</a> (<a href="/openapi.json">OpenAPI document</a>).</p>
</body></html>
`

// web serves the built web app from dir: hashed assets with a long cache,
// other files revalidated, and index.html for any other GET path (the app
// routes in the browser). Until the app is built it serves a placeholder.
func web(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		root, err := os.OpenRoot(dir)
		if err != nil || !isFile(root, "index.html") {
			if root != nil {
				_ = root.Close()
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", cacheRevalidate)
			_, _ = w.Write([]byte(placeholderPage))
			return
		}
		defer root.Close()
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if strings.HasPrefix(name, "assets/") {
			// A missing asset is a 404, never index.html: a stale page asking
			// for an old bundle must fail loudly, not parse HTML as script.
			if !isFile(root, name) {
				http.NotFound(w, r)
				return
			}
			serveFile(w, r, root, name, cacheImmutable)
			return
		}
		if name == "" || !isFile(root, name) {
			name = "index.html"
		}
		serveFile(w, r, root, name, cacheRevalidate)
	})
}

// webBuilt reports whether dir holds a built web app (else the placeholder
// page is served).
func webBuilt(dir string) bool {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer root.Close()
	return isFile(root, "index.html")
}

func isFile(root *os.Root, name string) bool {
	fi, err := root.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

func serveFile(w http.ResponseWriter, r *http.Request, root *os.Root, name, cache string) {
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", cache)
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// healthz answers 200 when every upstream service reports SERVING, else 503
// naming the ones that do not.
func healthz(p *peers.Conns) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ups := []struct {
			name string
			conn grpc.ClientConnInterface
		}{{"user", p.User}, {"server", p.Server}, {"presence", p.Presence}, {"stats", p.Stats}, {"search", p.Search}}
		bad := make([]string, len(ups))
		var wg sync.WaitGroup
		for i, pc := range ups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := healthpb.NewHealthClient(pc.conn).Check(ctx, &healthpb.HealthCheckRequest{})
				if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
					bad[i] = pc.name
				}
			}()
		}
		wg.Wait()
		var down []string
		for _, b := range bad {
			if b != "" {
				down = append(down, b)
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if len(down) > 0 {
			http.Error(w, "not serving: "+strings.Join(down, ", "), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}
