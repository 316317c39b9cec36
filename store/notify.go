package store

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// jobsChannel is the PostgreSQL notification channel on which a
// transaction that makes a job claimable (Enqueue, Requeue) notifies, so
// that idle workers of every process sharing the database look at once
// instead of at their next poll.
const jobsChannel = "clusterd_jobs"

// jobNotifier fans the notifications of jobsChannel out to this process's
// subscribers; with SQLite (one process) it never starts.
type jobNotifier struct {
	mu      sync.Mutex
	cfg     *pgx.ConnConfig // nil: no listener (SQLite)
	subs    map[int]func()
	next    int
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// SubscribeJobs calls fn (which must not block) whenever a job may have
// become claimable in another process, and after the listening connection
// (re)connects, since notifications sent while it was away are lost. It
// returns the unsubscribe. With SQLite it does nothing: the process that
// enqueues wakes its own runner.
func (s *Store) SubscribeJobs(fn func()) (cancel func()) {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cfg == nil {
		return func() {}
	}
	if n.subs == nil {
		n.subs = map[int]func(){}
	}
	id := n.next
	n.next++
	n.subs[id] = fn
	if !n.started {
		n.started = true
		ctx, stop := context.WithCancel(context.Background())
		n.stop, n.done = stop, make(chan struct{})
		l := &pgxlisten.Listener{
			Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, n.cfg) },
			ReconnectDelay: time.Second,
		}
		l.Handle(jobsChannel, n)
		go func() {
			defer close(n.done)
			l.Listen(ctx)
		}()
	}
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

// HandleNotification wakes every subscriber.
func (n *jobNotifier) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	n.wake()
	return nil
}

// HandleBacklog runs when the listener (re)connected: jobs may have been
// enqueued meanwhile.
func (n *jobNotifier) HandleBacklog(context.Context, string, *pgx.Conn) error {
	n.wake()
	return nil
}

func (n *jobNotifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, fn := range n.subs {
		fn()
	}
}

func (n *jobNotifier) close() {
	n.mu.Lock()
	stop, done := n.stop, n.done
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// notifyJobs notifies jobsChannel in tx (PostgreSQL delivers it when tx
// commits; nothing with SQLite).
func (s *Store) notifyJobs(tx *sql.Tx) error {
	if s.d != dialectPostgres {
		return nil
	}
	_, err := tx.Exec(`SELECT pg_notify('` + jobsChannel + `', '')`)
	return err
}
