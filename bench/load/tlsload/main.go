// Copied from /work/shared/peers-bench/scripts/tlsload (the peer harness), output line renamed LOADJSON.
// tlsload: closed-loop NEW-CONNECTION load generator (Go crypto/tls, cheaper per handshake than an
// OpenSSL 3.0 client such as wrk). C workers loop for D: dial TCP, full TLS 1.3 handshake (no session
// cache => never resumes), "GET path" with Connection: close, read the response (Content-Length), close.
// Prints one line "LOADJSON {...}" (bench/load/tls-conns.ts parses it).
// Only dials the -addr given (the harness passes 127.0.0.1:PORT).
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:443", "host:port to dial")
	sni := flag.String("sni", "localhost", "TLS server name (SNI) and Host header")
	path := flag.String("path", "/small", "request path")
	conns := flag.Int("c", 64, "concurrent workers")
	dur := flag.Duration("d", 10*time.Second, "duration")
	plain := flag.Bool("plain", false, "no TLS (new plain TCP connection per request)")
	flag.Parse()
	if h, _, err := net.SplitHostPort(*addr); err != nil || !(h == "127.0.0.1" || h == "::1" || h == "localhost") {
		fmt.Fprintln(os.Stderr, "tlsload: only loopback targets are allowed")
		os.Exit(2)
	}
	cfg := &tls.Config{ServerName: *sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	req, _ := http.NewRequest("GET", "http://"+*sni+*path, nil)
	req.Close = true // Connection: close

	type res struct {
		lat                  []int32
		ok, eConn, eRead, eSt int
		bytes                int64
	}
	out := make([]res, *conns)
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(r *res) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				c, err := net.DialTimeout("tcp", *addr, 5*time.Second)
				if err != nil {
					r.eConn++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = c.SetDeadline(t0.Add(5 * time.Second))
				var rw net.Conn = c
				if !*plain {
					tc := tls.Client(c, cfg)
					if err := tc.Handshake(); err != nil {
						r.eConn++
						c.Close()
						continue
					}
					rw = tc
				}
				if err := req.Write(rw); err != nil {
					r.eRead++
					rw.Close()
					continue
				}
				resp, err := http.ReadResponse(bufio.NewReaderSize(rw, 16384), req)
				if err != nil {
					r.eRead++
					rw.Close()
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				rw.Close()
				if err != nil {
					r.eRead++
					continue
				}
				if resp.StatusCode != 200 {
					r.eSt++
				}
				r.ok++
				r.bytes += n
				r.lat = append(r.lat, int32(time.Since(t0).Microseconds()))
			}
		}(&out[w])
	}
	wg.Wait()
	el := time.Since(start)
	var all []int32
	var tot res
	for i := range out {
		all = append(all, out[i].lat...)
		tot.ok += out[i].ok
		tot.eConn += out[i].eConn
		tot.eRead += out[i].eRead
		tot.eSt += out[i].eSt
		tot.bytes += out[i].bytes
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) int32 {
		if len(all) == 0 {
			return 0
		}
		i := int(p / 100 * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return all[i]
	}
	var sum int64
	for _, v := range all {
		sum += int64(v)
	}
	mean := 0.0
	if len(all) > 0 {
		mean = float64(sum) / float64(len(all))
	}
	fmt.Printf("LOADJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"err_connect\":%d,\"err_read\":%d,\"err_write\":0,\"err_status\":%d,\"err_timeout\":0,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"p999_us\":%d,\"mean_us\":%.1f,\"max_us\":%d,\"client\":\"tlsload-go\"}\n",
		tot.ok, el.Microseconds(), tot.bytes, tot.eConn, tot.eRead, tot.eSt, pct(50), pct(90), pct(99), pct(99.9), mean, pct(100))
}
