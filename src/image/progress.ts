// Reads debootstrap's own progress lines (its `info` messages, printed as
// `I: ...`; /usr/share/debootstrap/functions and scripts/debian-common) and
// turns them into a fraction of the whole build. debootstrap says how many
// packages there are only by going through them: the count is known once
// downloading ends, the required part of it once extracting ends, so until
// then each phase estimates its length (see docs/images.md).

export type BuildPhase = 'download' | 'extract' | 'required' | 'base' | 'filesystem' | 'done';

export interface BuildProgress {
  phase: BuildPhase;
  /** 0 to 1 over the whole build; never goes down */
  fraction: number;
  /** debootstrap's line (or ours) that moved it */
  message: string;
}

/** Where each phase starts in the whole; `done` is 1. Set from measured bookworm builds (docs/images.md). */
const START: Record<BuildPhase, number> = { download: 0, extract: 0.35, required: 0.45, base: 0.65, filesystem: 0.92, done: 1 };
const NEXT: Record<BuildPhase, BuildPhase> = { download: 'extract', extract: 'required', required: 'base', base: 'filesystem', filesystem: 'done', done: 'done' };

/** Packages of a bookworm minbase with a kernel, systemd and sshd (measured): the download phase's first guess. */
export const EXPECTED_PACKAGES = 135;
/** The required share of them, extracted first (measured: 88 of 134). */
const REQUIRED_SHARE = 0.65;
/**
 * Lines per base package: fewer than an Unpacking and a Configuring each,
 * since pre-dependencies are installed by `dpkg --install` without a line
 * (measured: 70 for 46).
 */
const BASE_LINES = 1.5;

export class DebootstrapProgress {
  private phase: BuildPhase = 'download';
  private last = 0;
  private validated = 0;
  private extracted = 0;
  private total = 0;
  private required = 0;
  private steps = 0;

  constructor(private readonly expected = EXPECTED_PACKAGES) {}

  /** Feeds one output line; returns the new progress when the line moved it. */
  line(text: string): BuildProgress | undefined {
    let m: RegExpExecArray | null;
    if ((m = /^I: Validating (\S+) (\S+)\s*$/.exec(text)) !== null) {
      this.validated++;
      return this.at('download', this.validated / Math.max(this.expected, this.validated + 1), text);
    }
    if (/^I: Extracting \S+\.\.\.$/.test(text)) {
      if (this.total === 0) this.total = this.validated;
      this.extracted++;
      return this.at('extract', this.extracted / Math.max(Math.round(this.total * REQUIRED_SHARE), this.extracted + 1), text);
    }
    if (text === 'I: Installing core packages...') {
      this.required = this.extracted;
      this.steps = 0;
      return this.at('required', 0, text);
    }
    if (text === 'I: Unpacking the base system...') {
      this.steps = 0;
      return this.at('base', 0, text);
    }
    if (/^I: (Unpacking|Configuring) \S+\.\.\.$/.test(text)) {
      this.steps++;
      const lines = this.phase === 'required' ? 2 * this.required : Math.round(BASE_LINES * (this.total - this.required));
      return this.at(this.phase, this.steps / Math.max(lines, this.steps + 1), text);
    }
    if (text === 'I: Base system installed successfully.') return this.at('filesystem', 0, text);
    return undefined;
  }

  /** `within` of the way through `phase`. */
  at(phase: BuildPhase, within: number, message: string): BuildProgress | undefined {
    if (START[phase] < START[this.phase]) return undefined;
    this.phase = phase;
    const f = START[phase] + (START[NEXT[phase]] - START[phase]) * Math.min(1, Math.max(0, within));
    if (f <= this.last && phase !== 'done') return undefined;
    this.last = Math.max(this.last, f);
    return { phase, fraction: this.last, message };
  }
}
