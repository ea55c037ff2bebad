/**
 * Client sessions: exactly-once commands, layered on a state machine (it runs inside `apply`, so
 * it is replicated and deterministic like the state machine itself).
 *
 * - A client opens a session through the log (`open`): its id is the index of that entry, unique.
 * - It asks for a range of operation ids, an arc, through the log (`grant`): the arc starts where
 *   the session's last one ended, and a new grant revokes what is unused of the earlier ones, so a
 *   client that lost track of its ids asks again and cannot collide with itself.
 * - Each command carries an operation id from its arc. The first time an id is applied the command
 *   runs and its answer is kept; a retry of the same id answers the kept answer and runs nothing.
 *   Each session keeps its last `answersPerSession` answers; an id older than those is refused
 *   ('answerForgotten'), never run twice.
 * - Sessions expire through the log, never by a clock: a session not used in the last
 *   `expireAfterEntries` entries is dropped, checked as entries are applied (every member drops it
 *   at the same index). A command of an expired or unknown session is refused ('unknownSession').
 *
 * Bounds: `maxSessions` (opening more is refused 'tooManySessions'), `answersPerSession`.
 */
import { invalidOption } from '../errors.js';
import type { Index } from './types.js';

/** A command for the session layer. */
export type SessionCommand =
  | {
      /** Opens a session. */
      type: 'open';
    }
  | {
      /** Grants the session a new arc of `size` operation ids. */
      type: 'grant';
      /** The session. */
      session: number;
      /** How many ids. */
      size: number;
    }
  | {
      /** Runs `command` once for operation `opId`. */
      type: 'op';
      /** The session. */
      session: number;
      /** The operation id, from the session's arc. */
      opId: number;
      /** The state machine's command. */
      command: unknown;
    }
  | {
      /** Closes the session. */
      type: 'close';
      /** The session. */
      session: number;
    };

/** What the session layer answers. */
export type SessionReply<R> =
  | {
      /** A session was opened. */
      ok: true;
      /** Its id. */
      session: number;
    }
  | {
      /** An arc was granted. */
      ok: true;
      /** Its first id. */
      start: number;
      /** One past its last id. */
      end: number;
    }
  | {
      /** The operation ran now, or earlier (`duplicate`). */
      ok: true;
      /** Its answer (the first one, for a duplicate). */
      reply: R;
      /** The id had run before: this is the kept answer. */
      duplicate: boolean;
    }
  | {
      /** The session was closed. */
      ok: true;
      /** Always true. */
      closed: true;
    }
  | {
      /** Refused. */
      ok: false;
      /** Why. */
      error: 'unknownSession' | 'outsideArc' | 'answerForgotten' | 'tooManySessions' | 'invalid';
    };

/** Options of `ClientSessions`. */
export interface ClientSessionsOptions {
  /** At most this many open sessions. Default 10,000. */
  maxSessions?: number;
  /** Answers kept per session. Default 64. */
  answersPerSession?: number;
  /** A session unused for this many log entries expires. Default 100,000. */
  expireAfterEntries?: number;
}

interface Session {
  arcStart: number;
  arcEnd: number;
  /** Ids below this ran and their answers are forgotten (or were revoked unused). */
  forgottenBelow: number;
  answers: Map<number, unknown>;
  lastUsed: Index;
}

/** The session table of a replicated state machine (see the module note). */
export class ClientSessions {
  private readonly maxSessions: number;
  private readonly answersPerSession: number;
  private readonly expireAfterEntries: number;
  private sessions = new Map<number, Session>();
  private lastExpiry: Index = 0;

  /** An empty table; throws HORDE_INVALID_OPTION for a bad option. */
  constructor(options: ClientSessionsOptions = {}) {
    this.maxSessions = options.maxSessions ?? 10_000;
    this.answersPerSession = options.answersPerSession ?? 64;
    this.expireAfterEntries = options.expireAfterEntries ?? 100_000;
    for (const [name, value] of [
      ['maxSessions', this.maxSessions],
      ['answersPerSession', this.answersPerSession],
      ['expireAfterEntries', this.expireAfterEntries],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) invalidOption(name, 'an integer >= 1', value);
    }
  }

  /** Open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Applies the session command of the entry at `index`; `run` runs a state machine command and
   * returns its answer (called at most once per operation id).
   */
  apply<R>(index: Index, command: SessionCommand, run: (command: unknown) => R): SessionReply<R> {
    this.expire(index);
    switch (command.type) {
      case 'open': {
        if (this.sessions.size >= this.maxSessions) return { ok: false, error: 'tooManySessions' };
        this.sessions.set(index, { arcStart: 0, arcEnd: 0, forgottenBelow: 0, answers: new Map(), lastUsed: index });
        return { ok: true, session: index };
      }
      case 'grant': {
        const session = this.sessions.get(command.session);
        if (session === undefined) return { ok: false, error: 'unknownSession' };
        if (!Number.isSafeInteger(command.size) || command.size < 1) return { ok: false, error: 'invalid' };
        session.lastUsed = index;
        session.arcStart = session.arcEnd;
        session.arcEnd = session.arcStart + command.size;
        return { ok: true, start: session.arcStart, end: session.arcEnd };
      }
      case 'op': {
        const session = this.sessions.get(command.session);
        if (session === undefined) return { ok: false, error: 'unknownSession' };
        session.lastUsed = index;
        if (session.answers.has(command.opId)) return { ok: true, reply: session.answers.get(command.opId) as R, duplicate: true };
        if (command.opId < session.forgottenBelow) return { ok: false, error: 'answerForgotten' };
        if (command.opId < session.arcStart || command.opId >= session.arcEnd) return { ok: false, error: 'outsideArc' };
        const reply = run(command.command);
        session.answers.set(command.opId, reply);
        if (session.answers.size > this.answersPerSession) {
          const oldest = Math.min(...session.answers.keys());
          session.answers.delete(oldest);
          session.forgottenBelow = Math.max(session.forgottenBelow, oldest + 1);
        }
        return { ok: true, reply, duplicate: false };
      }
      case 'close':
        if (!this.sessions.delete(command.session)) return { ok: false, error: 'unknownSession' };
        return { ok: true, closed: true };
    }
  }

  /** The table as plain data (for the state machine's snapshot). */
  snapshot(): unknown {
    return {
      lastExpiry: this.lastExpiry,
      sessions: [...this.sessions].map(([id, s]) => [id, s.arcStart, s.arcEnd, s.forgottenBelow, s.lastUsed, [...s.answers]]),
    };
  }

  /** Replaces the table by one from `snapshot()`. */
  restore(data: unknown): void {
    const table = data as { lastExpiry: number; sessions: [number, number, number, number, number, [number, unknown][]][] };
    this.lastExpiry = table.lastExpiry;
    this.sessions = new Map(
      table.sessions.map(([id, arcStart, arcEnd, forgottenBelow, lastUsed, answers]) => [id, { arcStart, arcEnd, forgottenBelow, lastUsed, answers: new Map(answers) }]),
    );
  }

  /** Drops sessions unused for `expireAfterEntries`, scanning at most every quarter of it. */
  private expire(index: Index): void {
    const every = Math.max(1, Math.floor(this.expireAfterEntries / 4));
    if (index - this.lastExpiry < every) return;
    this.lastExpiry = index;
    for (const [id, session] of this.sessions) if (index - session.lastUsed > this.expireAfterEntries) this.sessions.delete(id);
  }
}
