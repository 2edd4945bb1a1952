//! `Builder::skip_idle_ticks`: a run with it gives exactly what stepping one
//! tick at a time gives.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::time::sleep;
use turmoil::net::UdpSocket;
use turmoil::Builder;

type Trace = Rc<RefCell<Vec<(String, Duration)>>>;

fn note(trace: &Trace, what: impl Into<String>) {
    let at = turmoil::sim_elapsed().expect("inside the simulation");
    trace.borrow_mut().push((what.into(), at));
}

fn builder(skip: bool, tick_ms: u64) -> Builder {
    let mut b = Builder::new();
    b.tick_duration(Duration::from_millis(tick_ms))
        .simulation_duration(Duration::from_secs(600))
        .rng_seed(7)
        .skip_idle_ticks(skip);
    b
}

/// Tasks that sleep, time out, spawn more tasks and wait on each other; every
/// wake is noted with the simulated time it happened at.
async fn busy_client(trace: Trace) -> turmoil::Result {
    let mut tasks = Vec::new();
    for (i, ms) in [0u64, 1, 7, 7, 13, 250, 9_999, 10_000, 61_003]
        .into_iter()
        .enumerate()
    {
        let trace = trace.clone();
        tasks.push(tokio::task::spawn_local(async move {
            sleep(Duration::from_millis(ms)).await;
            note(&trace, format!("task {i} woke"));
            let slow = sleep(Duration::from_millis(ms / 2 + 3));
            let timed_out = tokio::time::timeout(Duration::from_millis(ms / 3 + 1), slow).await;
            note(&trace, format!("task {i} timeout {}", timed_out.is_err()));
            let inner = trace.clone();
            tokio::task::spawn_local(async move {
                tokio::task::yield_now().await;
                note(&inner, format!("task {i} child"));
            })
            .await
            .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    sleep(Duration::from_micros(1_500)).await;
    note(&trace, "done");
    Ok(())
}

fn run_busy(skip: bool, tick_ms: u64) -> (Vec<(String, Duration)>, Duration) {
    let trace: Trace = Rc::default();
    let mut sim = builder(skip, tick_ms).build();
    sim.client("client", busy_client(trace.clone()));
    sim.run().unwrap();
    let out = trace.borrow().clone();
    (out, sim.elapsed())
}

#[test]
fn timers_fire_at_the_same_instants_and_the_run_ends_on_the_same_tick() {
    for tick_ms in [1, 3, 10] {
        let stepped = run_busy(false, tick_ms);
        let skipped = run_busy(true, tick_ms);
        assert_eq!(stepped, skipped, "tick {tick_ms} ms");
        assert!(
            stepped.1 >= Duration::from_millis(61_003),
            "{:?}",
            stepped.1
        );
    }
}

#[test]
fn exceeding_the_duration_fails_on_the_same_tick() {
    let fail = |skip: bool| {
        let mut sim = builder(skip, 1)
            .simulation_duration(Duration::from_millis(2_500))
            .build();
        sim.client("client", async {
            sleep(Duration::from_secs(5)).await;
            Ok(())
        });
        let err = sim.run().unwrap_err().to_string();
        (err, sim.elapsed())
    };
    let stepped = fail(false);
    assert_eq!(stepped, fail(true));
    assert!(
        stepped.0.starts_with("Ran for duration: 2.5s"),
        "{}",
        stepped.0
    );
}

#[test]
fn a_failing_client_fails_the_run_the_same_way() {
    let fail = |skip: bool| {
        let mut sim = builder(skip, 1).build();
        sim.client("client", async {
            sleep(Duration::from_millis(1_234)).await;
            Err("the client gave up".into())
        });
        let err = sim.run().unwrap_err().to_string();
        (err, sim.elapsed())
    };
    assert_eq!(fail(false), fail(true));
}

/// A message sent during a run of ticks carries the network time of the tick
/// it was sent on: with a 1 s latency it reaches a host restarted after the
/// run at the same simulated time.
#[test]
fn a_message_sent_while_skipping_arrives_when_it_would_have() {
    let arrival = |skip: bool| {
        let mut b = builder(skip, 1);
        b.min_message_latency(Duration::from_secs(1))
            .max_message_latency(Duration::from_secs(1));
        let mut sim = b.build();
        let received: Trace = Rc::default();
        let seen = received.clone();
        // The receiver's software ends at once the first time (so the client
        // runs alone and may skip); restarted after the run, it listens.
        let started = Rc::new(RefCell::new(0));
        sim.host("receiver", move || {
            let seen = seen.clone();
            let started = started.clone();
            async move {
                *started.borrow_mut() += 1;
                if *started.borrow() == 1 {
                    return Ok(());
                }
                let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000)).await?;
                let mut buf = [0; 16];
                loop {
                    let (n, _) = socket.recv_from(&mut buf).await?;
                    note(&seen, String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        sim.client("sender", async {
            sleep(Duration::from_millis(50)).await;
            let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)).await?;
            let to = SocketAddr::new(turmoil::lookup("receiver"), 9000);
            sleep(Duration::from_micros(5_300)).await;
            socket.send_to(b"first", to).await?;
            sleep(Duration::from_millis(200)).await;
            socket.send_to(b"second", to).await?;
            sleep(Duration::from_millis(20)).await;
            Ok(())
        });
        sim.run().unwrap();
        let ended = sim.elapsed();
        sim.bounce("receiver");
        while received.borrow().len() < 2 {
            sim.step().unwrap();
        }
        let out = received.borrow().clone();
        (ended, out)
    };
    let stepped = arrival(false);
    assert_eq!(stepped, arrival(true));
    assert_eq!(stepped.1.len(), 2, "{stepped:?}");
}

#[test]
fn with_two_hosts_running_it_steps_as_before() {
    let echo = |skip: bool| {
        let trace: Trace = Rc::default();
        let mut sim = builder(skip, 1).build();
        // The client first: a run of ticks would pick it, and leave the server's
        // clock behind, which the server's timer would show.
        let t = trace.clone();
        sim.client("client", async move {
            let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)).await?;
            let to = SocketAddr::new(turmoil::lookup("server"), 7);
            for i in 0..5u8 {
                sleep(Duration::from_millis(300)).await;
                socket.send_to(&[i], to).await?;
                let mut buf = [0; 16];
                socket.recv_from(&mut buf).await?;
                note(&t, format!("echo {i}"));
            }
            Ok(())
        });
        let t = trace.clone();
        sim.host("server", move || {
            let t = t.clone();
            async move {
                let socket = UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7)).await?;
                let ticker = t.clone();
                tokio::task::spawn_local(async move {
                    for i in 0..20 {
                        sleep(Duration::from_millis(77)).await;
                        note(&ticker, format!("server timer {i}"));
                    }
                });
                let mut buf = [0; 16];
                loop {
                    let (n, from) = socket.recv_from(&mut buf).await?;
                    note(&t, "server got a datagram");
                    sleep(Duration::from_millis(40)).await;
                    socket.send_to(&buf[..n], from).await?;
                }
            }
        });
        sim.run().unwrap();
        let out = trace.borrow().clone();
        (out, sim.elapsed())
    };
    let stepped = echo(false);
    assert_eq!(stepped, echo(true));
    assert_eq!(
        stepped
            .0
            .iter()
            .filter(|(w, _)| w.starts_with("echo"))
            .count(),
        5
    );
}

#[test]
fn a_tick_of_part_of_a_millisecond_is_not_skipped() {
    for tick_us in [500, 1_500] {
        let run = |skip: bool| {
            let trace: Trace = Rc::default();
            let mut sim = builder(skip, 1)
                .tick_duration(Duration::from_micros(tick_us))
                .build();
            sim.client("client", busy_client(trace.clone()));
            sim.run().unwrap();
            let out = trace.borrow().clone();
            (out, sim.elapsed())
        };
        assert_eq!(run(false), run(true), "tick {tick_us} µs");
    }
}

#[test]
fn step_still_moves_one_tick() {
    let mut sim = builder(true, 1).build();
    sim.client("client", async {
        sleep(Duration::from_secs(10)).await;
        Ok(())
    });
    assert!(!sim.step().unwrap());
    assert_eq!(sim.elapsed(), Duration::from_millis(1));
}
