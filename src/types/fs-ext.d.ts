// fs-ext ships no typings; only the call the embedded store uses is declared.
declare module 'fs-ext' {
  const fsExt: {
    flockSync(fd: number, flags: 'sh' | 'ex' | 'shnb' | 'exnb' | 'un'): void;
  };
  export default fsExt;
}
