import { describe, expect, it } from 'vitest';
import { initialUiState, isQuitKey, reduceKey, type KeyPress, type UiState } from './keys.js';

const rows = { findings: 5, calls: 2, flows: 30, capture: 12 };
const press = (state: UiState, input: string, key: KeyPress = {}) => {
  const result = reduceKey(state, input, key, rows);
  if (result.quit) throw new Error('unexpected quit');
  return result.state;
};

describe('reduceKey', () => {
  it('quits on q and Ctrl-C only', () => {
    expect(reduceKey(initialUiState, 'q', {}, rows)).toEqual({ quit: true });
    expect(reduceKey(initialUiState, 'c', { ctrl: true }, rows)).toEqual({ quit: true });
    expect(reduceKey(initialUiState, 'c', {}, rows).quit).toBe(false);
    expect(isQuitKey('Q', {})).toBe(false);
  });

  it('moves the selection within the list', () => {
    let s = press(initialUiState, '', { downArrow: true });
    expect(s.selected.findings).toBe(1);
    s = press(s, 'j');
    s = press(s, '', { pageDown: true });
    expect(s.selected.findings).toBe(4);
    s = press(s, '', { upArrow: true });
    expect(s.selected.findings).toBe(3);
    s = press(s, 'g');
    expect(s.selected.findings).toBe(0);
    s = press(s, '', { upArrow: true });
    expect(s.selected.findings).toBe(0);
    expect(press(s, 'G').selected.findings).toBe(4);
  });

  it('keeps selection at 0 on an empty list', () => {
    const empty = { ...rows, findings: 0 };
    const r = reduceKey(initialUiState, '', { downArrow: true }, empty);
    expect(r.quit === false && r.state.selected.findings).toBe(0);
  });

  it('toggles the expanded row with Enter and collapses with Escape', () => {
    let s = press(press(initialUiState, '', { downArrow: true }), '', { return: true });
    expect(s.expanded.findings).toBe(1);
    s = press(s, '', { return: true });
    expect(s.expanded.findings).toBeNull();
    s = press(press(s, '', { return: true }), '', { escape: true });
    expect(s.expanded.findings).toBeNull();
  });

  it('switches tabs with Tab, Shift-Tab, arrows and 1-4, keeping each tab selection', () => {
    let s = press(initialUiState, '', { tab: true });
    expect(s.tab).toBe('calls');
    s = press(s, '', { downArrow: true });
    expect(s.selected.calls).toBe(1);
    s = press(s, '4');
    expect(s.tab).toBe('capture');
    s = press(s, '', { tab: true });
    expect(s.tab).toBe('findings');
    s = press(s, '', { tab: true, shift: true });
    expect(s.tab).toBe('capture');
    s = press(s, '', { leftArrow: true });
    expect(s.tab).toBe('flows');
    s = press(s, '2');
    expect(s.tab).toBe('calls');
    expect(s.selected.calls).toBe(1);
    expect(press(s, '9').tab).toBe('calls');
  });
});
