namespace Protea.Tests.Support;

/// <summary>
/// A minimal safetensors reader and writer in Python (Debian ships no python3-safetensors), written from
/// the format's description and sharing no code with Protea's, to prepend to oracle scripts:
/// <c>st_read(path) -> (dict name -> numpy array, metadata)</c> and <c>st_write(path, dict, metadata=None)</c>.
/// The writer does not pad the header, so it also checks that readers do not assume alignment.
/// </summary>
public static class SafeTensorsPy
{
    public const string Functions = """
        import json, struct
        import numpy as np

        ST_DTYPES = {'F32': '<f4', 'F64': '<f8', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4',
                     'I16': '<i2', 'I8': 'i1', 'U8': 'u1', 'BOOL': '?'}

        def st_read(path):
            with open(path, 'rb') as f:
                buf = f.read()
            n = struct.unpack('<Q', buf[:8])[0]
            header = json.loads(buf[8:8 + n].decode('utf-8'))
            meta = header.pop('__metadata__', {})
            data = buf[8 + n:]
            out = {}
            for name, e in header.items():
                begin, end = e['data_offsets']
                out[name] = np.frombuffer(data[begin:end], dtype=ST_DTYPES[e['dtype']]).reshape(e['shape'])
            return out, meta

        def st_write(path, tensors, metadata=None):
            codes = {np.dtype(v): k for k, v in ST_DTYPES.items()}
            header, chunks, offset = {}, [], 0
            if metadata:
                header['__metadata__'] = metadata
            for name in sorted(tensors):
                a = np.asarray(tensors[name], order='C')  # not ascontiguousarray: it turns 0-d arrays into 1-d
                a = a.astype(a.dtype.newbyteorder('<'))
                raw = a.tobytes()
                header[name] = {'dtype': codes[a.dtype], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
                chunks.append(raw)
                offset += len(raw)
            h = json.dumps(header).encode('utf-8')
            with open(path, 'wb') as f:
                f.write(struct.pack('<Q', len(h)))
                f.write(h)
                for c in chunks:
                    f.write(c)

        """;
}
