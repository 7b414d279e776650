export * from './image-stream-tag-trigger';
