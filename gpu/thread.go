package gpu

import (
	"fmt"
	"runtime"
	"sync"
)

// owner is a goroutine locked to its OS thread that runs closures one at a
// time: the thread a CUDA context is current on, through which every driver
// call of a Backend goes.
type owner struct {
	calls    chan func()
	stop     chan struct{} // closed by shutdown
	done     chan struct{} // closed when the goroutine has exited
	stopOnce sync.Once
}

// startOwner starts the goroutine and runs setup on its thread (creating
// the context there); when setup fails the goroutine exits and the error is
// returned.
func startOwner(setup func() error) (*owner, error) {
	o := &owner{calls: make(chan func()), stop: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan error, 1)
	go o.run(setup, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return o, nil
}

func (o *owner) run(setup func() error, ready chan<- error) {
	// Never unlocked: when run returns the runtime ends the thread, so no
	// other goroutine ever finds a context current on it.
	runtime.LockOSThread()
	defer close(o.done)
	if err := protect(setup); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for {
		select {
		case f := <-o.calls:
			f()
		case <-o.stop:
			return
		}
	}
}

// do runs f on the owner's thread and returns its error; ErrClosed once
// the owner has shut down. A panic in f (a bug, not a driver error: those
// are returned) comes back as an error so that the thread survives it.
func (o *owner) do(f func() error) error {
	res := make(chan error, 1)
	select {
	case o.calls <- func() { res <- protect(f) }:
		return <-res
	case <-o.done:
		return ErrClosed
	}
}

// shutdown runs teardown on the thread, then ends the goroutine. Later
// calls return ErrClosed; only the first runs teardown.
func (o *owner) shutdown(teardown func() error) error {
	err := ErrClosed
	o.stopOnce.Do(func() {
		err = o.do(teardown)
		close(o.stop)
		<-o.done
	})
	return err
}

// protect calls f, turning a panic into an error.
func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gpu: internal error: %v", r)
		}
	}()
	return f()
}
