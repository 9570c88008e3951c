// test/pods/gopod.go - a Go net/http pod for the differential suite
// (test/e2e_smuggle.sh): one JSON line per request Go's server parsed,
// with the path as Go reads it (URL.Path, decoded), then an answer.
//
//	gopod -listen 127.0.0.1:PORT -log FILE
//
// /early answers without reading the body; everything else reads it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

func main() {
	listen := flag.String("listen", "", "address")
	logf := flag.String("log", "", "JSON lines")
	flag.Parse()
	f, err := os.OpenFile(*logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	h := func(w http.ResponseWriter, r *http.Request) {
		n := int64(0)
		if len(r.URL.Path) < 6 || r.URL.Path[:6] != "/early" {
			n, _ = io.Copy(io.Discard, r.Body)
		}
		rec := map[string]interface{}{"pod": "go", "method": r.Method, "target": r.RequestURI,
			"path": r.URL.Path, "xri": r.Header.Values("X-Real-Ip"), "host": []string{r.Host},
			"auth": r.Header.Values("Authorization"), "body": n, "conn": r.RemoteAddr}
		b, _ := json.Marshal(rec)
		mu.Lock()
		f.Write(append(b, '\n'))
		mu.Unlock()
		fmt.Fprintf(w, "GO %s %s xri=%v", r.Method, r.URL.Path, r.Header.Values("X-Real-Ip"))
	}
	// no ServeMux: it would redirect paths it cleans, and the suite wants
	// to see what reaches a handler
	panic(http.ListenAndServe(*listen, http.HandlerFunc(h)))
}
