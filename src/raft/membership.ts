/**
 * Membership arithmetic: applying one change (one server at a time, so any two consecutive
 * memberships share a majority), majorities, and the index a majority of voters has matched.
 */
import type { Index, MemberId, Membership, MembershipChange } from './types.js';

/** The membership after `change`, or the reason it is refused. */
export function applyChange(membership: Membership, change: MembershipChange): Membership | string {
  const { voters, learners } = membership;
  const isVoter = voters.includes(change.member);
  const isLearner = learners.includes(change.member);
  switch (change.type) {
    case 'addLearner':
      if (isVoter || isLearner) return `${change.member} is already a member`;
      return { voters, learners: [...learners, change.member] };
    case 'promote':
      if (!isLearner) return `${change.member} is not a learner`;
      return { voters: [...voters, change.member], learners: learners.filter((m) => m !== change.member) };
    case 'remove':
      if (!isVoter && !isLearner) return `${change.member} is not a member`;
      if (isVoter && voters.length === 1) return `${change.member} is the last voter`;
      return { voters: voters.filter((m) => m !== change.member), learners: learners.filter((m) => m !== change.member) };
  }
}

/** Whether `member` is in `membership` (voter or learner). */
export function isMember(membership: Membership, member: MemberId): boolean {
  return membership.voters.includes(member) || membership.learners.includes(member);
}

/** The number of voters that make a majority. */
export function majority(membership: Membership): number {
  return Math.floor(membership.voters.length / 2) + 1;
}

/** The highest index matched by a majority of voters; 0 when there are no voters. */
export function quorumIndex(membership: Membership, matchOf: (member: MemberId) => Index): Index {
  if (membership.voters.length === 0) return 0;
  const matches = membership.voters.map(matchOf).sort((a, b) => b - a);
  return matches[majority(membership) - 1]!;
}

/** Whether a majority of voters satisfy `yes`. */
export function hasQuorum(membership: Membership, yes: (member: MemberId) => boolean): boolean {
  let count = 0;
  for (const voter of membership.voters) if (yes(voter)) count++;
  return count >= majority(membership);
}
