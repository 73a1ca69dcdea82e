/** One code's HTTP status and the sentence every channel shows for it. */
export interface Entry {
  readonly status: number;
  readonly message: string;
}
