// Command refreshload drives refresh-token rotation chains against a running server, as
// scripts/load.sh's PostgreSQL and SQLite refresh rows need them: one chain per connection, each
// sending POST /api/auth/refresh with {"refreshToken"} in the body and the token each answer
// returns. It plays the part pgbench's client plays for pgbench: connections multiplexed on as
// many threads as the machine has CPUs, each request written and each answer read on a kept-alive
// connection with no more work than finding the next token, so that it takes from the machine's
// CPUs about what pgbench's client takes (wrk's Lua script, one thread per chain, took about
// twice as much).
//
// Usage: refreshload -url http://127.0.0.1:3999 -tokens FILE [-c 16] [-d 8s]
// FILE holds one refresh token per line, at least -c of them. It prints "Requests/sec: N" and
// "refresh failures: N" (answers other than 200 with a new token, and broken connections).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "refreshload:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("refreshload", flag.ContinueOnError)
	base := fs.String("url", "", "the server's base URL, http://host:port")
	file := fs.String("tokens", "", "file of refresh tokens, one per line")
	conns := fs.Int("c", 16, "connections, one rotation chain each")
	dur := fs.Duration("d", 8*time.Second, "how long to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", *base)
	}
	raw, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	tokens := strings.Fields(string(raw))
	if *conns < 1 || len(tokens) < *conns {
		return fmt.Errorf("%d tokens in %s for %d connections", len(tokens), *file, *conns)
	}
	var (
		done     atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(*dur)
	for _, token := range tokens[:*conns] {
		wg.Go(func() {
			n, err := chain(u.Host, token, deadline)
			done.Add(n)
			if err != nil {
				failures.Add(1)
				fmt.Fprintln(os.Stderr, "refreshload:", err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintf(out, "%d refreshes in %.2fs\nRequests/sec: %.2f\nrefresh failures: %d\n",
		done.Load(), elapsed.Seconds(), float64(done.Load())/elapsed.Seconds(), failures.Load())
	return nil
}

// chain rotates token until deadline on one connection and returns how many refreshes
// succeeded; it stops at the first failure and returns it.
func chain(host, token string, deadline time.Time) (int64, error) {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 8<<10)
	var (
		req  []byte
		body []byte
		n    int64
	)
	for time.Now().Before(deadline) {
		req = append(req[:0], "POST /api/auth/refresh HTTP/1.1\r\nHost: "...)
		req = append(req, host...)
		req = append(req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
		req = strconv.AppendInt(req, int64(len(token)+len(`{"refreshToken":""}`)), 10)
		req = append(req, "\r\n\r\n{\"refreshToken\":\""...)
		req = append(req, token...)
		req = append(req, "\"}"...)
		if _, err := conn.Write(req); err != nil {
			return n, err
		}
		status, b, err := readResponse(r, body)
		if err != nil {
			return n, err
		}
		body = b
		next, ok := refreshToken(body)
		if status != 200 || !ok {
			return n, fmt.Errorf("refresh answered %d %.200s", status, body)
		}
		token = next
		n++
	}
	return n, nil
}

// readResponse reads one HTTP/1.1 response with a Content-Length into buf and returns its status.
func readResponse(r *bufio.Reader, buf []byte) (int, []byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, buf, err
	}
	f := bytes.Fields(line)
	if len(f) < 2 {
		return 0, buf, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, buf, fmt.Errorf("bad status line %q", line)
	}
	length := -1
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return 0, buf, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return 0, buf, fmt.Errorf("bad Content-Length %q", value)
			}
		}
	}
	if length < 0 {
		return 0, buf, errors.New("answer without Content-Length")
	}
	if cap(buf) < length {
		buf = make([]byte, length)
	}
	buf = buf[:length]
	_, err = io.ReadFull(r, buf)
	return status, buf, err
}

// refreshToken finds the refreshToken member of a refresh answer's body.
func refreshToken(body []byte) (string, bool) {
	const key = `"refreshToken":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 {
		return "", false
	}
	return string(rest[:j]), true
}
