// A React app using ssecast/react's useEventStream, bundled by the test with
// esbuild. The query string gives the events URL (`src`) and the transport.
// Its parent re-renders every 20 ms and passes a new, equal options object on
// each render: the hook must keep one connection. window.hide() unmounts it.
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useEventStream } from 'ssecast/react';

const params = new URLSearchParams(location.search);
window.renders = 0;
window.errorsShown = [];
window.resets = [];

function Price({ tick }) {
  const { data, lastEvent, state, error } = useEventStream(params.get('src'), {
    topics: ['prices'],
    types: ['price'],
    transport: params.get('transport'),
    resumeKey: false,
    minDelay: 50,
    initialDelay: 100,
    onReset: (reset) => window.resets.push(reset.reason),
  });
  window.renders += 1;
  if (error && !window.errorsShown.includes(error.message)) window.errorsShown.push(error.message);
  return (
    <dl>
      <dt>state</dt>
      <dd id="state">{state}</dd>
      <dt>price</dt>
      <dd id="price">{data === undefined ? '-' : String(data.price)}</dd>
      <dt>last id</dt>
      <dd id="last-id">{lastEvent?.lastEventId ?? ''}</dd>
      <dt>renders</dt>
      <dd id="tick">{tick}</dd>
    </dl>
  );
}

function App() {
  const [tick, setTick] = useState(0);
  const [shown, setShown] = useState(true);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 20);
    return () => clearInterval(timer);
  }, []);
  window.hide = () => setShown(false);
  return shown ? <Price tick={tick} /> : <p id="gone">unmounted</p>;
}

createRoot(document.getElementById('root')).render(<App />);
