// The app's job handlers. The default export is what `switchyard run-jobs --handlers` loads too.
import { defineHandlers, JobFailedError } from 'switchyard';

declare module 'switchyard' {
  interface JobTypes {
    sendWelcomeEmail: { to: string };
    resizeImage: { imageId: number; sizes: number[] };
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default defineHandlers({
  sendWelcomeEmail: {
    run: async (job, { logger }) => {
      if (!job.params.to.includes('@')) {
        throw new JobFailedError(`not an email address: ${job.params.to}`, { retry: false });
      }
      await pause(20); // pretend to talk to an SMTP server
      logger.info('welcome email sent', { to: job.params.to });
    },
    timeout: 10,
  },
  resizeImage: {
    run: async (job, { signal }) => {
      for (const _size of job.params.sizes) {
        if (signal.aborted) throw signal.reason;
        await pause(10);
      }
    },
    // Throttling counts images resized, not jobs.
    workItemCount: (job) => job.params.sizes.length,
  },
});
