/** Key handling for the report screens as a pure reducer: (state, key) → state. */

export const TABS = ['findings', 'calls', 'flows', 'capture'] as const;
export type TabId = (typeof TABS)[number];

export interface UiState {
  tab: TabId;
  /** Selected row per tab (for Capture: the first line shown). */
  selected: Record<TabId, number>;
  /** Expanded row per tab, or null. */
  expanded: Record<TabId, number | null>;
}

export const initialUiState: UiState = {
  tab: 'findings',
  selected: { findings: 0, calls: 0, flows: 0, capture: 0 },
  expanded: { findings: null, calls: null, flows: null, capture: null },
};

/** The subset of Ink's Key that we read. */
export interface KeyPress {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
}

export type KeyResult = { quit: true } | { quit: false; state: UiState };

const PAGE = 10;

/** True for the keys that leave the UI: q, or Ctrl-C (raw mode delivers it as input). */
export function isQuitKey(input: string, key: KeyPress): boolean {
  return input === 'q' || (key.ctrl === true && input === 'c');
}

/** `rows` is the number of selectable rows on each tab. */
export function reduceKey(state: UiState, input: string, key: KeyPress, rows: Record<TabId, number>): KeyResult {
  if (isQuitKey(input, key)) return { quit: true };
  const tab = state.tab;
  const at = TABS.indexOf(tab);
  const switchTo = (next: TabId): KeyResult => ({ quit: false, state: { ...state, tab: next } });
  const select = (index: number): KeyResult => {
    const clamped = Math.max(0, Math.min(rows[tab] - 1, index));
    return { quit: false, state: { ...state, selected: { ...state.selected, [tab]: clamped } } };
  };

  if (key.tab) return switchTo(TABS[(at + (key.shift ? TABS.length - 1 : 1)) % TABS.length]);
  if (key.rightArrow) return switchTo(TABS[Math.min(TABS.length - 1, at + 1)]);
  if (key.leftArrow) return switchTo(TABS[Math.max(0, at - 1)]);
  const digit = Number(input);
  if (input.length === 1 && digit >= 1 && digit <= TABS.length) return switchTo(TABS[digit - 1]);

  const current = state.selected[tab];
  if (key.upArrow || input === 'k') return select(current - 1);
  if (key.downArrow || input === 'j') return select(current + 1);
  if (key.pageUp) return select(current - PAGE);
  if (key.pageDown || input === ' ') return select(current + PAGE);
  if (key.home || input === 'g') return select(0);
  if (key.end || input === 'G') return select(rows[tab] - 1);
  if (key.return) {
    const expanded = state.expanded[tab] === current ? null : current;
    return { quit: false, state: { ...state, expanded: { ...state.expanded, [tab]: expanded } } };
  }
  if (key.escape) return { quit: false, state: { ...state, expanded: { ...state.expanded, [tab]: null } } };
  return { quit: false, state };
}
