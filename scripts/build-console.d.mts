export declare const CONSOLE_SOURCE: string;
export declare const CONSOLE_DIST: string;
export declare function buildConsole(
  outdir?: string,
  opts?: { quiet?: boolean },
): Promise<{ outdir: string; jsBytes: number; jsGzipBytes: number }>;
