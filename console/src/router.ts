/** Pages are addressed by the URL hash (#/jobs/job-…): a reload keeps the page, and no credential is ever in it. */
export type PageName = 'workbench' | 'jobs' | 'bulk' | 'admin';

export function navigate(page: PageName, arg?: string): void {
  location.hash = `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ''}`;
}
