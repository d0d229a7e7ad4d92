// sniload: the route-scale job's origin and new-connection client in Go, because Go's crypto/tls costs
// the shared load core far less per handshake than node's OpenSSL 3.0 (bench/scale/*.ts are the
// fallbacks when Go is missing, with the same behaviour and output).
//
//	sniload origin -cert C -key K -a PORT -b PORT
//	    two TLS 1.3 ports (no resumption): complete the handshake, write "A" or "B", close.
//	sniload load -port P -hosts N -c C -d 3s -want A
//	    closed loop: C workers, each: connect, full TLS 1.3 handshake with SNI h<rand(N)>.scale.test,
//	    read the origin's marker byte, close. Prints one line: SCALELOAD {...}
//
// Only loopback addresses are dialled or bound.
package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sniload origin|load [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "origin":
		origin(os.Args[2:])
	case "load":
		load(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: sniload origin|load [flags]")
		os.Exit(2)
	}
}

func origin(args []string) {
	fs := flag.NewFlagSet("origin", flag.ExitOnError)
	certPath := fs.String("cert", "", "certificate PEM")
	keyPath := fs.String("key", "", "private key PEM")
	portA := fs.Int("a", 0, "port of origin A")
	portB := fs.Int("b", 0, "port of origin B")
	_ = fs.Parse(args)
	cert, err := tls.LoadX509KeyPair(*certPath, *keyPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sniload origin:", err)
		os.Exit(1)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true}
	for _, o := range []struct {
		port   int
		marker string
	}{{*portA, "A"}, {*portB, "B"}} {
		ln, err := tls.Listen("tcp", "127.0.0.1:"+strconv.Itoa(o.port), cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sniload origin:", err)
			os.Exit(1)
		}
		go serve(ln, []byte(o.marker))
	}
	select {}
}

func serve(ln net.Listener, marker []byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if err := c.(*tls.Conn).Handshake(); err != nil {
				return
			}
			_, _ = c.Write(marker)
		}(c)
	}
}

type counts struct {
	Refused     int `json:"refused"`
	Closed      int `json:"closed"`
	WrongOrigin int `json:"wrong_origin"`
	Other       int `json:"other"`
}

func classify(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "refused"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "closed"
	}
	return "other"
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	port := fs.Int("port", 0, "proxy port on 127.0.0.1")
	hosts := fs.Int("hosts", 0, "hostnames h0..h<N-1>.scale.test to draw from")
	conns := fs.Int("c", 32, "concurrent workers")
	dur := fs.Duration("d", 3*time.Second, "duration")
	want := fs.String("want", "A", "expected origin marker")
	_ = fs.Parse(args)
	if *port <= 0 || *hosts <= 0 || *conns <= 0 {
		fmt.Fprintln(os.Stderr, "sniload load: -port, -hosts and -c must be positive")
		os.Exit(2)
	}
	addr := "127.0.0.1:" + strconv.Itoa(*port)
	type result struct {
		lat []float64
		errs counts
	}
	out := make([]result, *conns)
	start := time.Now()
	deadline := start.Add(*dur)
	var wg sync.WaitGroup
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func(r *result, seed int64) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(seed))
			buf := make([]byte, 1)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					if classify(err) == "refused" {
						r.errs.Refused++
					} else {
						r.errs.Other++
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = c.SetDeadline(t0.Add(5 * time.Second))
				sni := "h" + strconv.Itoa(rnd.Intn(*hosts)) + ".scale.test"
				tc := tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
				err = tc.Handshake()
				if err == nil {
					_, err = io.ReadFull(tc, buf)
				}
				c.Close()
				switch {
				case err != nil && classify(err) == "closed":
					r.errs.Closed++
				case err != nil:
					r.errs.Other++
				case string(buf) != *want:
					r.errs.WrongOrigin++
				default:
					r.lat = append(r.lat, float64(time.Since(t0).Microseconds()))
				}
			}
		}(&out[w], time.Now().UnixNano()+int64(w))
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []float64
	var errs counts
	for _, r := range out {
		all = append(all, r.lat...)
		errs.Refused += r.errs.Refused
		errs.Closed += r.errs.Closed
		errs.WrongOrigin += r.errs.WrongOrigin
		errs.Other += r.errs.Other
	}
	sort.Float64s(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return all[i]
	}
	line, _ := json.Marshal(map[string]interface{}{
		"connections": len(all), "seconds": elapsed, "per_s": float64(len(all)) / elapsed, "errors": errs,
		"p50_us": q(0.5), "p99_us": q(0.99),
	})
	fmt.Printf("SCALELOAD %s\n", line)
}
