package auth

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// The bcrypt worker is this same program, run again as "PROGRAM bcrypt-worker" by the first hash
// a Hasher runs. It reads requests from its standard input and writes answers to its standard
// output, one JSON object a line, and runs every request at once in a goroutine of its own: the
// Hasher's slots decide how many run. It starts from a thread hashNice nicer than the server
// (background; Linux), so it and all its threads run at that priority, and it schedules on Ps of
// its own (its own default GOMAXPROCS: nothing here sets it).
//
// Why a process: a hash in the server's process holds a P (one of GOMAXPROCS) for the whole
// compare, about 0.15-0.3 s at cost 12. With every P hashing, a request waits for Go's preemption
// (10 ms) before it runs, whatever the thread priorities. In a process of its own, the hashes leave
// the server's Ps free, and the kernel runs the server's threads before the worker's the moment a
// request comes, while the worker still takes every CPU the server leaves idle.
//
// The worker ends when its standard input does: when the server exits or dies, the kernel closes
// the pipe, and the worker exits even in the middle of a hash. Passwords cross that local pipe only,
// and the worker writes nothing of a request anywhere else.
const workerArg = "bcrypt-worker"

// init serves as the bcrypt worker when the program was started as one. Dispatching here rather
// than in main makes every program that can hold a Hasher able to be its own worker, the test
// programs of every package included, so none can be started as a worker and do something else.
func init() {
	if len(os.Args) == 2 && os.Args[1] == workerArg {
		os.Exit(serveWorker(workerInput(), os.Stdout, os.Stderr))
	}
}

// workerStall is how long a hash may go unanswered before the worker is taken to be stuck and
// killed: far beyond any cost-14 hash, even race-instrumented on a loaded machine.
const workerStall = time.Minute

// What a hash needs: generate the hash of Password at Cost, or compare Password with Hash.
type workerRequest struct {
	ID       uint64 `json:"id"`
	Generate bool   `json:"generate,omitempty"`
	Cost     int    `json:"cost,omitempty"`
	Hash     []byte `json:"hash,omitempty"`
	Password []byte `json:"password"`
}

// The answer to the request with the same ID: the new hash, or whether the password matched, or
// bcrypt's error (never holding the password).
type workerAnswer struct {
	ID    uint64 `json:"id"`
	Hash  []byte `json:"hash,omitempty"`
	Match bool   `json:"match,omitempty"`
	Error string `json:"error,omitempty"`
}

// serveWorker answers the requests read from in on out until in ends (exit status 0) or holds
// something else than requests (1, reported on errs). An answer that cannot be written is dropped:
// the server is gone, and its end closes in.
func serveWorker(in io.Reader, out, errs io.Writer) int {
	dec := json.NewDecoder(bufio.NewReader(in))
	var (
		mu  sync.Mutex // one answer at a time on out
		enc = json.NewEncoder(out)
	)
	for {
		var req workerRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return 0
		} else if err != nil {
			fmt.Fprintf(errs, "bcrypt worker: read a request: %v\n", err)
			return 1
		}
		go func() {
			a := answer(req)
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(a)
		}()
	}
}

// answer runs the bcrypt operation req asks for.
func answer(req workerRequest) workerAnswer {
	a := workerAnswer{ID: req.ID}
	var err error
	if req.Generate {
		a.Hash, err = bcrypt.GenerateFromPassword(req.Password, req.Cost)
	} else {
		err = bcrypt.CompareHashAndPassword(req.Hash, req.Password)
		a.Match = err == nil
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			err = nil
		}
	}
	if err != nil {
		a.Error = err.Error()
	}
	return a
}

// errWorker is a hash the worker could not answer: it could not start, died or stalled. The
// caller answers 503 with Retry-After, and the next hash starts a new worker.
var errWorker = fmt.Errorf("%w: the bcrypt worker", ErrBusy)

// worker runs hashes in the worker process, starting one when there is none or it died.
type worker struct {
	stall time.Duration // workerStall; shorter in tests

	mu   sync.Mutex
	proc *workerProc // the running worker, or nil
}

// processWorker is the one worker of this process, shared by its Hashers (the server has one; a
// test program builds many). It lives as long as the process: the kernel closes its input when
// the process exits or dies, and it ends.
var processWorker = &worker{stall: workerStall}

// workerProc is one worker process.
type workerProc struct {
	cmd  *exec.Cmd
	dead chan struct{} // closed once the process has exited and been waited for

	mu      sync.Mutex     // guards in, next and pending
	in      io.WriteCloser // the worker's standard input: requests; closing it ends the worker
	next    uint64
	pending map[uint64]chan workerAnswer
}

// generate returns the bcrypt hash of password at cost.
func (w *worker) generate(password []byte, cost int) ([]byte, error) {
	a, err := w.call(workerRequest{Generate: true, Cost: cost, Password: password})
	if err != nil {
		return nil, err
	}
	if a.Error != "" {
		return nil, errors.New(a.Error)
	}
	return a.Hash, nil
}

// compare is bcrypt.CompareHashAndPassword, run by the worker: nil for a match,
// bcrypt.ErrMismatchedHashAndPassword for a mismatch, errWorker, or bcrypt's other errors.
func (w *worker) compare(hash, password []byte) error {
	a, err := w.call(workerRequest{Hash: hash, Password: password})
	switch {
	case err != nil:
		return err
	case a.Error != "":
		return errors.New(a.Error)
	case !a.Match:
		return bcrypt.ErrMismatchedHashAndPassword
	}
	return nil
}

// call sends req to the worker (starting one if needed) and waits for its answer. It waits even
// when the caller has gone, so the slot it holds stays taken until the CPU is free again.
func (w *worker) call(req workerRequest) (workerAnswer, error) {
	p, err := w.running()
	if err != nil {
		return workerAnswer{}, fmt.Errorf("%w: %v", errWorker, err)
	}
	answer := make(chan workerAnswer, 1)
	if err := p.send(req, answer); err != nil {
		p.kill()
		return workerAnswer{}, errWorker
	}
	stalled := time.NewTimer(w.stall)
	defer stalled.Stop()
	select {
	case a := <-answer:
		return a, nil
	case <-p.dead:
		select {
		case a := <-answer: // answered just before the end
			return a, nil
		default:
			return workerAnswer{}, errWorker
		}
	case <-stalled.C:
		p.kill()
		return workerAnswer{}, errWorker
	}
}

// running returns the live worker, starting one when there is none.
func (w *worker) running() (*workerProc, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc != nil {
		select {
		case <-w.proc.dead:
		default:
			return w.proc, nil
		}
	}
	p, err := startWorker()
	if err != nil {
		w.proc = nil
		return nil, err
	}
	w.proc = p
	return p, nil
}

// self is the path that starts this program again: /proc/self/exe where there is one, which is
// this very file even if it was replaced or removed since, else os.Executable.
func self() (string, error) {
	const proc = "/proc/self/exe"
	if _, err := os.Stat(proc); err == nil {
		return proc, nil
	}
	return os.Executable()
}

// background runs f to completion on a fresh OS thread at a lowered priority, which a process
// started by f inherits. The thread is never handed back to the runtime: it ends with the
// goroutine, taking its priority with it (an unprivileged process could not raise it again).
func background(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // deliberately never unlocked
		lowerThreadPriority()
		f()
		close(done)
	}()
	<-done
}

// startWorker starts a worker process from a thread hashNice nicer than the caller (Linux), which
// the process and all its threads inherit.
func startWorker() (*workerProc, error) {
	path, err := self()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, workerArg)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = in.Close()
		return nil, err
	}
	background(func() { err = cmd.Start() })
	if err != nil {
		_ = in.Close()
		_ = out.Close()
		return nil, err
	}
	p := &workerProc{cmd: cmd, in: in, dead: make(chan struct{}), pending: map[uint64]chan workerAnswer{}}
	go p.read(out)
	return p, nil
}

// send registers answer for req and writes req to the worker.
func (p *workerProc) send(req workerRequest, answer chan workerAnswer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	req.ID = p.next
	p.pending[req.ID] = answer
	if err := json.NewEncoder(p.in).Encode(req); err != nil {
		delete(p.pending, req.ID)
		return err
	}
	return nil
}

// read hands each answer to its caller until the worker's output ends; then it makes sure the
// process is gone, waits for it and closes dead.
func (p *workerProc) read(out io.Reader) {
	dec := json.NewDecoder(bufio.NewReader(out))
	for {
		var a workerAnswer
		if err := dec.Decode(&a); err != nil {
			break
		}
		p.mu.Lock()
		answer, ok := p.pending[a.ID]
		delete(p.pending, a.ID)
		p.mu.Unlock()
		if ok {
			answer <- a
		}
	}
	p.kill()
	_ = p.cmd.Wait()
	close(p.dead)
}

// kill ends the worker process; its callers get errWorker.
func (p *workerProc) kill() { _ = p.cmd.Process.Kill() }
